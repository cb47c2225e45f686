from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from aiss.auth.ratelimit import SlidingWindow


@given(
    limit=st.integers(1, 5),
    window=st.floats(1, 100),
    events=st.lists(st.tuples(st.sampled_from("ab"), st.floats(0, 30)), max_size=40),
)
def test_sliding_window_matches_a_log_of_events(
    limit: int, window: float, events: list[tuple[str, float]]
) -> None:
    limiter = SlidingWindow(limit, window)
    now = 0.0
    log: dict[str, list[float]] = {"a": [], "b": []}
    for key, gap in events:
        now += gap
        recent = [t for t in log[key] if t > now - window]
        wait = limiter.retry_after(key, now)
        assert (wait == 0) is (len(recent) < limit)
        if wait:
            assert wait == max(1, math.ceil(recent[0] + window - now))
        else:
            limiter.record(key, now)
            log[key].append(now)


def test_keys_are_bounded() -> None:
    limiter = SlidingWindow(1, 60, max_keys=3)
    for i in range(10):
        limiter.record(f"k{i}", 0)
    assert limiter.retry_after("k0", 1) == 0  # evicted, oldest first
    assert limiter.retry_after("k9", 1) == 59
