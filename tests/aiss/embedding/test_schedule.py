"""The batch schedule on a virtual clock: fairness between lanes and lengths, short slices."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from aiss.embedding.schedule import LANES, Lane, Limits, Schedule, cut

LIMITS = Limits(max_age=0.5, ingest_share=0.25, slice=0.02)


def cost(rows: int, longest: int) -> float:
    """A model that pays per batch and per padded token: about 250k tokens/s."""
    return 0.001 + 4e-6 * rows * longest


MOST = cost(1, LIMITS.token_budget)  # the longest any one batch may run


@dataclass(eq=False)
class Text:
    lane: Lane
    enqueued: float
    tokens: int
    aged_behind: int = 0  # older texts of its lane still waiting when it aged
    served: float | None = None


def simulate(
    texts: list[Text], limits: Limits = LIMITS, until: float | None = None, *, track: bool = True
) -> float:
    """Run the model on a virtual clock until every text is served (or `until`);
    `track` counts, for each text that ages, the older texts of its lane still waiting.

    Returns the model time used by ingestion over all model time.
    """
    schedule: Schedule[Text] = Schedule(limits)
    arrivals = sorted(texts, key=lambda t: t.enqueued)
    waiting: list[Text] = []
    clock, nxt = 0.0, 0
    used: dict[Lane, float] = {"query": 0.0, "ingest": 0.0}
    while nxt < len(arrivals) or len(schedule):
        if until is not None and clock >= until:
            break
        while nxt < len(arrivals) and arrivals[nxt].enqueued <= clock:
            schedule.add(arrivals[nxt])
            if track:
                waiting.append(arrivals[nxt])
            nxt += 1
        for text in waiting if track else ():
            if not text.aged_behind and clock - text.enqueued >= limits.max_age:
                text.aged_behind = 1 + sum(
                    1 for o in waiting if o.lane == text.lane and o.enqueued < text.enqueued
                )
        if not len(schedule):
            clock = arrivals[nxt].enqueued
            continue
        batch = schedule.take(clock)
        assert batch and len({t.lane for t in batch}) == 1
        longest = max(t.tokens for t in batch)
        assert len(batch) == 1 or len(batch) * longest <= limits.token_budget
        # Padding stays modest, aged or not: compute thrown away otherwise.
        assert longest <= 2 * min(t.tokens for t in batch) + 8
        took = cost(len(batch), longest)
        clock += took
        used[batch[0].lane] += took
        for text in batch:
            text.served = clock
            if track:
                waiting.remove(text)
        schedule.charge(batch[0].lane, took, len(batch) * longest)
    return used["ingest"] / max(1e-9, used["ingest"] + used["query"])


def bound(text: Text, limits: Limits = LIMITS) -> float:
    """How long `text` may wait: its age, then the batches led by older texts of its lane
    (each with the other lane's share beside it), the batch running when it aged, and
    the other lane's lead."""
    share = {"ingest": limits.ingest_share, "query": 1 - limits.ingest_share}
    mine, other = share[text.lane], 1 - share[text.lane]
    behind = max(1, text.aged_behind)
    return limits.max_age + MOST * (behind * (1 + other / mine) + 2 + other / min(mine, other))


def test_a_long_text_is_not_starved_by_a_stream_of_short_ones() -> None:
    shorts = [Text("query", i * 0.001, 8) for i in range(5000)]  # 5 s, the model never idle
    long = Text("query", 1.0, 200)
    simulate([*shorts, long])
    assert long.served is not None
    assert long.served - long.enqueued <= bound(long)


def test_ingestion_is_not_starved_by_a_stream_of_queries() -> None:
    queries = [Text("query", i * 0.001, 16) for i in range(5000)]
    chunk = Text("ingest", 0.5, 128)
    simulate([*queries, chunk])
    assert chunk.served is not None
    assert chunk.served - chunk.enqueued <= bound(chunk)


def test_while_both_lanes_wait_ingestion_gets_its_share() -> None:
    for share in (0.1, 0.25, 0.5):
        limits = dataclasses.replace(LIMITS, ingest_share=share)
        texts = [Text("query", 0.0, 32) for _ in range(10_000)]
        texts += [Text("ingest", 0.0, 128) for _ in range(10_000)]
        got = simulate(texts, limits, until=1.0, track=False)
        assert abs(got - share) < 0.03, (share, got)


def test_a_query_waits_for_at_most_one_ingestion_slice() -> None:
    chunks = [Text("ingest", 0.0, 200) for _ in range(5_000)]
    queries = [Text("query", 0.3 + i * 0.1, 12) for i in range(30)]
    simulate([*chunks, *queries], until=3.5, track=False)
    for query in queries:
        assert query.served is not None
        # The slice running when it came, then its own batch.
        assert query.served - query.enqueued <= LIMITS.slice * 1.25 + cost(1, 12)


@st.composite
def streams(draw: st.DrawFn) -> list[Text]:
    """Steady loads: 1-4 streams of one lane and length each, together within what the
    model does one text at a time (so the queue stays bounded, and a text can still
    starve behind others)."""
    count = draw(st.integers(1, 4))
    texts: list[Text] = []
    for _ in range(count):
        lane: Lane = draw(st.sampled_from(LANES))
        tokens = draw(st.integers(1, 256))
        period = cost(1, tokens) * count * draw(st.floats(0.6, 4.0))
        start = draw(st.floats(0, 1))
        texts += [Text(lane, start + n * period, tokens) for n in range(draw(st.integers(1, 600)))]
    return texts


@settings(max_examples=100, deadline=None)
@given(streams(), st.sampled_from([0.1, 0.25, 0.5, 0.9]))
def test_every_text_is_served_within_its_bound(texts: list[Text], share: float) -> None:
    limits = dataclasses.replace(LIMITS, ingest_share=share)
    simulate(texts, limits)
    for text in texts:
        assert text.served is not None
        assert text.served - text.enqueued <= bound(text, limits), text


@given(
    lengths=st.lists(st.integers(1, 512), min_size=1, max_size=200).map(sorted),
    budget=st.integers(64, 20_000),
    rows=st.integers(1, 256),
)
def test_cut_respects_budget_rows_and_padding(lengths: list[int], budget: int, rows: int) -> None:
    limits = Limits(token_budget=budget, max_rows=rows)
    count = cut(lengths, limits)
    assert 1 <= count <= len(lengths)
    batch = lengths[:count]
    if count > 1:
        assert count <= rows and count * batch[-1] <= budget
        assert batch[-1] <= 2 * batch[0] + 8
    if count < len(lengths):  # stopped for a reason
        nxt = lengths[count]
        assert count + 1 > rows or (count + 1) * nxt > budget or nxt > 2 * batch[0] + 8
