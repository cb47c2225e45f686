"""The durable job queue against the embedded MongoDB server, over TCP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aiss.storage.jobs import JobQueue, Lease, LeaseLost

if TYPE_CHECKING:
    from aiss.storage.mongo import MongoStore

pytestmark = pytest.mark.anyio
LEASE = 30.0


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def queue(mongo: MongoStore, clock: Clock) -> JobQueue:
    name = f"jobs_{uuid.uuid4().hex[:10]}"
    return JobQueue(
        lambda: mongo.collection(name),
        lease_seconds=LEASE,
        backoff_base=1.0,
        backoff_max=8.0,
        jitter=0.0,
        clock=clock,
    )


async def test_a_job_runs_once_and_is_done(mongo: MongoStore) -> None:
    clock = Clock()
    jobs = queue(mongo, clock)
    job_id = await jobs.enqueue("ingest", {"document_id": "d1"})
    lease = await jobs.lease("w1", ["ingest"])
    assert lease is not None and lease.job_id == job_id and lease.attempt == 1
    assert lease.payload == {"document_id": "d1"}
    assert await jobs.lease("w2", ["ingest"]) is None
    lease = await jobs.heartbeat(lease)
    await jobs.complete(lease)
    assert (await jobs.counts())["done"] == 1
    with pytest.raises(LeaseLost):
        await jobs.complete(lease)


async def test_failures_back_off_then_dead_letter(mongo: MongoStore) -> None:
    clock = Clock()
    jobs = queue(mongo, clock)
    job_id = await jobs.enqueue("ingest", {}, max_attempts=3)
    for attempt, delay in ((1, 1.0), (2, 2.0)):
        lease = await jobs.lease("w", ["ingest"])
        assert lease is not None and lease.attempt == attempt
        assert await jobs.fail(lease, f"boom {attempt}") == "queued"
        clock.advance(delay - 0.01)
        assert await jobs.lease("w", ["ingest"]) is None  # still backing off
        clock.advance(0.02)
    lease = await jobs.lease("w", ["ingest"])
    assert lease is not None and lease.attempt == 3
    assert await jobs.fail(lease, "boom 3") == "dead"
    job = await jobs.get(job_id)
    assert job is not None and job.state == "dead" and job.last_error == "boom 3"
    assert await jobs.get("not-an-id") is None


async def test_a_dead_workers_job_is_leased_again_and_the_late_worker_is_refused(
    mongo: MongoStore,
) -> None:
    clock = Clock()
    jobs = queue(mongo, clock)
    await jobs.enqueue("ingest", {}, max_attempts=2)
    first = await jobs.lease("w1", ["ingest"])
    assert first is not None
    clock.advance(LEASE + 1)  # w1 stalls past its lease
    second = await jobs.lease("w2", ["ingest"])
    assert second is not None and second.job_id == first.job_id and second.attempt == 2
    with pytest.raises(LeaseLost):
        await jobs.heartbeat(first)
    with pytest.raises(LeaseLost):
        await jobs.complete(first)
    clock.advance(LEASE + 1)  # w2 dies too: no attempt left, so the job is dead-lettered
    assert await jobs.sweep() == 1
    assert (await jobs.counts())["dead"] == 1


async def test_kinds_are_kept_apart(mongo: MongoStore) -> None:
    jobs = queue(mongo, Clock())
    await jobs.enqueue("ingest", {})
    assert await jobs.lease("w", ["reindex"]) is None
    with pytest.raises(ValueError, match="at least one attempt"):
        await jobs.enqueue("ingest", {}, max_attempts=0)


# -- property: random schedules of workers that lease, work, fail, stall and die ----

WORKERS = ("w1", "w2", "w3")
step = st.one_of(
    st.tuples(st.just("enqueue"), st.integers(1, 3)),
    st.tuples(st.just("lease"), st.sampled_from(WORKERS)),
    st.tuples(st.just("heartbeat"), st.sampled_from(WORKERS)),
    st.tuples(st.just("complete"), st.sampled_from(WORKERS)),
    st.tuples(st.just("fail"), st.sampled_from(WORKERS)),
    st.tuples(st.just("die"), st.sampled_from(WORKERS)),
    st.tuples(st.just("wait"), st.sampled_from([1, 5, LEASE / 2, LEASE + 1])),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schedule=st.lists(step, max_size=30), max_attempts=st.integers(1, 3))
@example(  # a worker stalls past its lease, then tries to finish
    schedule=[("enqueue", 1), ("lease", "w1"), ("wait", LEASE + 1), ("complete", "w1")],
    max_attempts=2,
)
async def test_no_job_runs_twice_at_once_and_none_is_lost(
    mongo: MongoStore, schedule: list[tuple[str, object]], max_attempts: int
) -> None:
    clock = Clock()
    jobs = queue(mongo, clock)
    enqueued: set[str] = set()
    held: dict[str, Lease] = {}  # what each worker believes it holds
    live: dict[str, Lease] = {}  # the model: the one lease per job that may act
    completed: list[str] = []

    def is_live(lease: Lease) -> bool:
        return live.get(lease.job_id) == lease and lease.expires >= clock.now

    for action, arg in schedule:
        if action == "enqueue":
            for _ in range(int(arg)):  # type: ignore[call-overload]
                enqueued.add(await jobs.enqueue("ingest", {}, max_attempts=max_attempts))
        elif action == "wait":
            clock.advance(float(arg))  # type: ignore[arg-type]
        else:
            worker = str(arg)
            lease = held.get(worker)
            if action == "lease" and lease is None:
                got = await jobs.lease(worker, ["ingest"])
                if got is not None:
                    other = live.get(got.job_id)
                    # A job is leased again only once the previous lease has run out.
                    assert other is None or other.expires < clock.now
                    held[worker] = live[got.job_id] = got
            elif action == "die" and lease is not None:
                del held[worker]
            elif lease is not None and action in ("heartbeat", "complete", "fail"):
                expected = is_live(lease)
                try:
                    if action == "heartbeat":
                        held[worker] = live[lease.job_id] = await jobs.heartbeat(lease)
                    elif action == "complete":
                        await jobs.complete(lease)
                        completed.append(lease.job_id)
                        del held[worker], live[lease.job_id]
                    else:
                        await jobs.fail(lease, "boom")
                        del held[worker], live[lease.job_id]
                except LeaseLost:
                    assert not expected, f"{worker} lost a live lease on {action}"
                    del held[worker]
                else:
                    assert expected, f"{worker} acted on a stale lease ({action})"
        assert len(completed) == len(set(completed))

    # Every worker dies; time passes; a fresh worker drains the queue.
    clock.advance(10_000)
    while (lease := await jobs.lease("drain", ["ingest"])) is not None:
        await jobs.complete(lease)
        completed.append(lease.job_id)
        clock.advance(10_000)
    await jobs.sweep()
    counts = await jobs.counts()
    assert counts["queued"] == counts["leased"] == 0
    assert counts["done"] + counts["dead"] == len(enqueued)
    assert len(completed) == len(set(completed)) == counts["done"]


async def test_an_expired_lease_cannot_act_even_if_nobody_took_the_job(mongo: MongoStore) -> None:
    clock = Clock()
    jobs = queue(mongo, clock)
    await jobs.enqueue("ingest", {})
    lease = await jobs.lease("w1", ["ingest"])
    assert lease is not None
    clock.advance(LEASE + 1)
    with pytest.raises(LeaseLost):
        await jobs.heartbeat(lease)
    with pytest.raises(LeaseLost):
        await jobs.complete(lease)
