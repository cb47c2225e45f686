from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.spec import RestartWindow


@given(
    max_restarts=st.integers(min_value=0, max_value=5),
    within=st.floats(min_value=0.1, max_value=100),
    gaps=st.lists(st.floats(min_value=0, max_value=50), max_size=40),
)
def test_restart_window_allows_exactly_max_restarts_per_window(
    max_restarts: int, within: float, gaps: list[float]
) -> None:
    window = RestartWindow(max_restarts, within)
    now = 0.0
    accepted: list[float] = []
    for gap in gaps:
        now += gap
        recent = [t for t in accepted if t > now - within]
        expected = len(recent) < max_restarts
        assert window.allow(now) is expected
        if expected:
            accepted.append(now)
