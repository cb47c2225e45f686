from __future__ import annotations

import pytest

from actors import (
    ActorDead,
    DynamicSupervisor,
    Restart,
    Status,
    Strategy,
    Supervisor,
    TooManyChildren,
    running,
)

from .helpers import Boom, Crash, Echo, Finish, Generation, Journal, probe, settled

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
    assert journal.stops() == ["s1", "s3", "s2"]


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
