from __future__ import annotations

import anyio
import pytest

from actors import ActorDead, AskTimeout, MailboxFull, Supervisor, running

from .helpers import Boom, Crash, Echo, Expected, Generation, Journal, Refuse, Sleep, probe

pytestmark = pytest.mark.anyio


async def test_ask_returns_the_answer_and_tell_is_handled() -> None:
    journal = Journal()
    spec = probe("a", journal)
    async with running(Supervisor("root", [spec])):
        assert await spec.ref.ask(Echo(42)) == 42
        spec.ref.tell(Echo("fire and forget"))
        assert await spec.ref.ask(Echo("after")) == "after"
        assert spec.metrics.handled == 3


async def test_ask_before_start_and_after_stop_is_actor_dead() -> None:
    spec = probe("a", Journal())
    with pytest.raises(ActorDead):
        await spec.ref.ask(Echo(1))
    async with running(Supervisor("root", [spec])):
        assert spec.ref.alive
    assert not spec.ref.alive
    with pytest.raises(ActorDead):
        await spec.ref.ask(Echo(1))
    with pytest.raises(ActorDead):
        spec.ref.tell(Echo(1))


async def test_ask_times_out_and_the_actor_skips_the_abandoned_message() -> None:
    spec = probe("a", Journal())
    async with running(Supervisor("root", [spec])):
        spec.ref.tell(Sleep(0.2))
        with pytest.raises(AskTimeout) as caught:
            await spec.ref.ask(Echo("late"), timeout=0.05)
        assert isinstance(caught.value, TimeoutError)
        assert await spec.ref.ask(Echo("next")) == "next"
        # The sleep and "next" were handled; the abandoned echo was skipped.
        assert spec.metrics.handled == 2


async def test_full_mailbox_refuses_at_once() -> None:
    spec = probe("a", Journal(), mailbox_size=2)
    async with running(Supervisor("root", [spec])):
        spec.ref.tell(Sleep(0.1))
        await anyio.sleep(0.01)  # the actor takes the sleep out of the mailbox
        spec.ref.tell(Echo(1))
        spec.ref.tell(Echo(2))
        with pytest.raises(MailboxFull) as caught:
            spec.ref.tell(Echo(3))
        assert caught.value.capacity == 2
        with pytest.raises(MailboxFull):
            await spec.ref.ask(Echo(4))


async def test_recoverable_error_is_an_answer_not_a_crash() -> None:
    spec = probe("a", Journal())
    async with running(Supervisor("root", [spec])):
        with pytest.raises(Expected):
            await spec.ref.ask(Refuse())
        assert await spec.ref.ask(Generation()) == 1
        assert spec.metrics.restarts == 0


async def test_crash_goes_to_the_asker_and_queued_messages_survive_the_restart() -> None:
    spec = probe("a", Journal())
    async with running(Supervisor("root", [spec])):
        with pytest.raises(Boom):
            await spec.ref.ask(Crash())
        spec.ref.tell(Sleep(0.02))
        spec.ref.tell(Crash())
        # Queued behind the crash, so the next incarnation answers it.
        assert await spec.ref.ask(Generation()) == 3
    assert spec.metrics.restarts == 2
    assert spec.metrics.failures == 2


async def test_cancelled_stop_answers_the_message_in_hand_with_actor_dead() -> None:
    spec = probe("a", Journal(), shutdown_timeout=0.05)
    outcome: list[BaseException] = []

    async def ask_slow() -> None:
        try:
            await spec.ref.ask(Sleep(10), timeout=5)
        except ActorDead as exc:
            outcome.append(exc)

    async with (
        anyio.create_task_group() as tg,
        running(Supervisor("root", [spec], shutdown_timeout=1)),
    ):
        tg.start_soon(ask_slow)
        await anyio.sleep(0.02)
    assert len(outcome) == 1
