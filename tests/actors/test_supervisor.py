from __future__ import annotations

import anyio
import pytest

from actors import (
    ActorDead,
    ActorSpec,
    Restart,
    RestartIntensityExceeded,
    Status,
    Strategy,
    Supervisor,
    running,
)

from .helpers import Boom, Crash, Echo, Finish, Generation, Journal, Probe, Sleep, probe, settled

pytestmark = pytest.mark.anyio


def three(journal: Journal, strategy: Strategy, **kw: object) -> Supervisor:
    specs = [probe(name, journal) for name in "abc"]
    return Supervisor("root", specs, strategy=strategy, **kw)  # type: ignore[arg-type]


async def generations(sup: Supervisor) -> dict[str, int]:
    return {
        spec.name: await spec.ref.ask(Generation())  # type: ignore[attr-defined]
        for spec in sup.children
    }


async def test_children_start_in_order_and_stop_in_reverse() -> None:
    journal = Journal()
    async with running(three(journal, Strategy.ONE_FOR_ONE)):
        assert [name for kind, name, _ in journal.events] == ["a", "b", "c"]
    assert journal.stops() == ["c", "b", "a"]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (Strategy.ONE_FOR_ONE, {"a": 1, "b": 2, "c": 1}),
        (Strategy.ONE_FOR_ALL, {"a": 2, "b": 2, "c": 2}),
        (Strategy.REST_FOR_ONE, {"a": 1, "b": 2, "c": 2}),
    ],
)
async def test_strategy_decides_who_restarts(strategy: Strategy, expected: dict[str, int]) -> None:
    journal = Journal()
    sup = three(journal, strategy)
    async with running(sup):
        b = sup.children[1]
        with pytest.raises(Boom):
            await b.ref.ask(Crash())  # type: ignore[attr-defined]
        await settled(lambda: journal.starts == expected)
        assert await generations(sup) == expected
        restarted = [name for name, gen in expected.items() if gen == 2]
        # The crashed child stopped first; the others affected follow in reverse
        # start order, then all of them start again in order.
        others = [name for name in reversed(restarted) if name != "b"]
        assert journal.stops() == ["b", *others]
        starts_after = [name for kind, name, gen in journal.events if kind == "start" and gen == 2]
        assert starts_after == restarted


async def test_intensity_exceeded_stops_children_and_reports_failure() -> None:
    journal = Journal()
    failures: list[Exception] = []
    sup = three(journal, Strategy.ONE_FOR_ONE, max_restarts=2, within=60)
    async with running(sup, on_failure=failures.append):
        a = sup.children[0]
        for _ in range(2):
            with pytest.raises(Boom):
                await a.ref.ask(Crash())  # type: ignore[attr-defined]
            await settled(lambda: a.metrics.status is Status.RUNNING)
        with pytest.raises(Boom):
            await a.ref.ask(Crash())  # type: ignore[attr-defined]
        await settled(lambda: bool(failures))
        assert isinstance(failures[0], RestartIntensityExceeded)
        assert sup.metrics.status is Status.FAILED
        assert a.metrics.restarts == 2
        for spec in sup.children:
            with pytest.raises(ActorDead):
                await spec.ref.ask(Echo(1))  # type: ignore[attr-defined]
    assert journal.stops()[-2:] == ["c", "b"]


async def test_restarts_outside_the_window_do_not_count() -> None:
    journal = Journal()
    sup = three(journal, Strategy.ONE_FOR_ONE, max_restarts=1, within=0.05)
    async with running(sup):
        a = sup.children[0]
        for expected in (2, 3, 4):
            with pytest.raises(Boom):
                await a.ref.ask(Crash())  # type: ignore[attr-defined]
            assert await a.ref.ask(Generation()) == expected  # type: ignore[attr-defined]
            await anyio.sleep(0.06)
        assert sup.metrics.status is Status.RUNNING


async def test_nested_supervisor_escalates_to_its_parent() -> None:
    journal = Journal()
    inner = Supervisor("inner", [probe("x", journal)], max_restarts=0, within=60)
    sibling = probe("s", journal)
    root = Supervisor("root", [inner, sibling], strategy=Strategy.ONE_FOR_ONE)
    async with running(root):
        x = inner.children[0]
        with pytest.raises(Boom):
            await x.ref.ask(Crash())  # type: ignore[attr-defined]
        await settled(lambda: inner.metrics.restarts == 1 and x.metrics.status is Status.RUNNING)
        # The parent restarted the whole inner supervisor; the ref still works.
        assert await x.ref.ask(Generation()) == 2  # type: ignore[attr-defined]
        assert await sibling.ref.ask(Generation()) == 1
        paths = [node.path for node in root.nodes()]
        assert paths == ["root", "root/inner", "root/inner/x", "root/s"]


async def test_transient_and_temporary_children_that_finish_stay_finished() -> None:
    journal = Journal()
    transient = probe("t", journal, restart=Restart.TRANSIENT)
    temporary = probe("tmp", journal, restart=Restart.TEMPORARY)
    permanent = probe("p", journal)
    sup = Supervisor("root", [transient, temporary, permanent])
    async with running(sup):
        for spec in (transient, temporary, permanent):
            assert await spec.ref.ask(Finish()) == "bye"
        await settled(lambda: permanent.metrics.restarts == 1)
        assert transient.metrics.status is Status.COMPLETED
        assert temporary.metrics.status is Status.COMPLETED
        assert sup.child_names() == ["p"]
        with pytest.raises(ActorDead):
            await transient.ref.ask(Echo(1))
        assert await permanent.ref.ask(Generation()) == 2


async def test_transient_child_is_restarted_after_a_crash_temporary_is_not() -> None:
    journal = Journal()
    transient = probe("t", journal, restart=Restart.TRANSIENT)
    temporary = probe("tmp", journal, restart=Restart.TEMPORARY)
    async with running(Supervisor("root", [transient, temporary])):
        for spec in (transient, temporary):
            with pytest.raises(Boom):
                await spec.ref.ask(Crash())
        assert await transient.ref.ask(Generation()) == 2
        await settled(lambda: temporary.metrics.status is Status.COMPLETED)
        with pytest.raises(ActorDead):
            await temporary.ref.ask(Echo(1))


async def test_a_child_that_cannot_start_fails_the_start_and_stops_the_started() -> None:
    journal = Journal()
    bad = ActorSpec("bad", lambda: Probe("bad", journal, fail_start=True))
    sup = Supervisor("root", [probe("a", journal), bad, probe("c", journal)])
    with pytest.raises(Boom):
        async with running(sup):
            pytest.fail("the tree should not have started")
    assert journal.events == [("start", "a", 1), ("stop", "a", 1)]
    assert bad.metrics.status is Status.FAILED


async def test_a_child_that_ignores_stop_is_cancelled_after_its_deadline() -> None:
    journal = Journal()
    slow = probe("slow", journal, shutdown_timeout=0.05)
    async with running(Supervisor("root", [slow])):
        slow.ref.tell(Sleep(30))
        await anyio.sleep(0.01)
        started = anyio.current_time()
    assert anyio.current_time() - started < 5
    assert journal.stops() == ["slow"]
