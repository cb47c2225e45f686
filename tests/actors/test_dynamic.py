from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import pytest

from actors import (
    ActorDead,
    DynamicSupervisor,
    Restart,
    Service,
    Status,
    Strategy,
    Supervisor,
    TooManyChildren,
    running,
)

from .helpers import Boom, Crash, Echo, Finish, Generation, Journal, probe, settled

if TYPE_CHECKING:
    from anyio.abc import TaskStatus

pytestmark = pytest.mark.anyio


async def test_children_are_added_up_to_the_limit_and_terminated_by_name() -> None:
    journal = Journal()
    sessions = DynamicSupervisor("sessions", max_children=2)
    async with running(Supervisor("root", [sessions])):
        first = probe("s1", journal, restart=Restart.TEMPORARY)
        second = probe("s2", journal, restart=Restart.TEMPORARY)
        await sessions.start_child(first)
        await sessions.start_child(second)
        with pytest.raises(TooManyChildren):
            await sessions.start_child(probe("s3", journal))
        with pytest.raises(ValueError, match="already has a child"):
            await sessions.start_child(probe("s1", journal))
        assert await first.ref.ask(Echo("hi")) == "hi"

        await sessions.terminate_child("s1")
        assert sessions.child_names() == ["s2"]
        with pytest.raises(ActorDead):
            await first.ref.ask(Echo("gone"))
        await sessions.terminate_child("unknown")
        await sessions.start_child(probe("s3", journal))
    stops = journal.stops()
    assert stops[0] == "s1" and sorted(stops[1:]) == ["s2", "s3"]


async def test_finished_children_free_their_place() -> None:
    journal = Journal()
    sessions = DynamicSupervisor("sessions", max_children=1)
    async with running(Supervisor("root", [sessions])):
        one = probe("one", journal, restart=Restart.TRANSIENT)
        await sessions.start_child(one)
        assert await one.ref.ask(Finish()) == "bye"
        await settled(lambda: sessions.child_names() == [])
        assert one.metrics.status is Status.COMPLETED
        await sessions.start_child(probe("two", journal))


async def test_a_crashed_transient_child_is_restarted_alone() -> None:
    journal = Journal()
    sessions = DynamicSupervisor("sessions")
    async with running(Supervisor("root", [sessions])):
        a = probe("a", journal, restart=Restart.TRANSIENT)
        b = probe("b", journal, restart=Restart.TRANSIENT)
        await sessions.start_child(a)
        await sessions.start_child(b)
        with pytest.raises(Boom):
            await a.ref.ask(Crash())
        assert await a.ref.ask(Generation()) == 2
        assert await b.ref.ask(Generation()) == 1


async def test_start_child_on_a_stopped_supervisor_is_actor_dead() -> None:
    sessions = DynamicSupervisor("sessions")
    with pytest.raises(ActorDead):
        await sessions.start_child(probe("a", Journal()))


def test_dynamic_supervisor_restarts_one_for_one_only() -> None:
    with pytest.raises(ValueError, match="one child at a time"):
        DynamicSupervisor("sessions", strategy=Strategy.ONE_FOR_ALL)
    with pytest.raises(ValueError, match="unique"):
        Supervisor("root", [probe("a", Journal()), probe("a", Journal())])


async def test_a_restarted_supervisor_starts_without_its_dynamic_children() -> None:
    """OTP's rule: a supervisor restarted by its parent starts from its own spec."""
    journal = Journal()
    sessions = DynamicSupervisor("sessions")
    neighbour = probe("neighbour", journal)
    root = Supervisor("root", [sessions, neighbour], strategy=Strategy.ONE_FOR_ALL)
    async with running(root):
        kept = probe("kept", journal, restart=Restart.PERMANENT)
        await sessions.start_child(kept)
        with pytest.raises(Boom):
            await neighbour.ref.ask(Crash())  # the whole group restarts
        await settled(lambda: journal.starts.get("neighbour") == 2)
        assert sessions.child_names() == []
        assert journal.starts["kept"] == 1 and sessions.metrics.status is Status.RUNNING
        with pytest.raises(ActorDead):
            await kept.ref.ask(Echo("still there?"))
        await sessions.start_child(probe("new", journal))
        assert sessions.child_names() == ["new"]


@pytest.mark.parametrize("strategy", [Strategy.ONE_FOR_ALL, Strategy.REST_FOR_ONE])
async def test_temporary_siblings_are_stopped_not_restarted_with_their_group(
    strategy: Strategy,
) -> None:
    journal = Journal()
    failing = probe("failing", journal)
    temporary = probe("temporary", journal, restart=Restart.TEMPORARY)
    transient = probe("transient", journal, restart=Restart.TRANSIENT)
    root = Supervisor("root", [failing, temporary, transient], strategy=strategy)
    async with running(root):
        with pytest.raises(Boom):
            await failing.ref.ask(Crash())
        await settled(lambda: journal.starts.get("transient") == 2)
        assert root.child_names() == ["failing", "transient"]
        assert journal.starts["temporary"] == 1 and temporary.metrics.restarts == 0
        assert journal.stops().count("temporary") == 1
        with pytest.raises(ActorDead):
            await temporary.ref.ask(Echo(1))


class Stubborn(Service):
    """Ignores the request to stop: only cancellation ends it."""

    def __init__(self, name: str, stopped: list[str], shutdown_timeout: float) -> None:
        super().__init__(name, restart=Restart.TEMPORARY, shutdown_timeout=shutdown_timeout)
        self.stopped = stopped

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        task_status.started()
        try:
            await anyio.sleep_forever()
        finally:
            self.stopped.append(self.name)


async def test_children_stop_within_their_supervisors_one_budget() -> None:
    """Ten children that each may take 5 s, under supervisors allowed 1 s in all."""
    stopped: list[str] = []
    sessions = DynamicSupervisor("sessions", shutdown_timeout=1.0)
    static = Supervisor(
        "static",
        [Stubborn(f"static-{n}", stopped, shutdown_timeout=5.0) for n in range(5)],
        shutdown_timeout=1.0,
    )
    root = Supervisor("root", [sessions, static], shutdown_timeout=30.0)
    async with running(root):
        for n in range(5):
            await sessions.start_child(Stubborn(f"session-{n}", stopped, shutdown_timeout=5.0))
        started = anyio.current_time()
        root.request_stop()
        with anyio.fail_after(10):
            while len(stopped) < 10:
                await anyio.sleep(0.01)
        took = anyio.current_time() - started
    # Each supervisor spends at most its budget, not 5 s a child: 2 s for both.
    assert took < 2.5, took
    assert stopped[:5] == [f"static-{n}" for n in reversed(range(5))]
