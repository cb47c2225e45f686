"""Random schedules of asks, crashes, normal exits and stops against a model.

Each machine runs a real tree on a real event loop (in a portal thread) and
checks, after every step, that every ask ended in an answer, an error or a
timeout within a bound, that restart counts and escalation follow the policy
(OTP's: a temporary child is never restarted, not even with its group), and,
at the end, that children stop in reverse start order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from actors import (
    ActorDead,
    AskTimeout,
    Restart,
    Status,
    Strategy,
    Supervisor,
    running,
)

from .helpers import Boom, Crash, Echo, Finish, Journal, Message, Sleep, probe

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from actors.actor import ActorSpec

NAMES = ("a", "b", "c", "d")
HANG = 5.0  # an ask that needs longer than this counts as a hang


class TreeModel(RuleBasedStateMachine):
    backend = "asyncio"

    def __init__(self) -> None:
        super().__init__()
        self.portal_cm = start_blocking_portal(self.backend)
        self.portal: BlockingPortal = self.portal_cm.__enter__()
        self.tree: AbstractContextManager[Any] | None = None

    @initialize(
        strategy=st.sampled_from(Strategy),
        restarts=st.lists(st.sampled_from(Restart), min_size=2, max_size=len(NAMES)),
        max_restarts=st.integers(min_value=0, max_value=4),
    )
    def start(self, strategy: Strategy, restarts: list[Restart], max_restarts: int) -> None:
        self.journal = Journal()
        self.specs: dict[str, ActorSpec[Message]] = {
            name: probe(name, self.journal, restart=kind, shutdown_timeout=HANG)
            for name, kind in zip(NAMES, restarts, strict=False)
        }
        self.kinds = dict(zip(NAMES, restarts, strict=False))
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.root = Supervisor(
            "root",
            list(self.specs.values()),
            strategy=strategy,
            max_restarts=max_restarts,
            within=3600,
        )
        # The model: which children the supervisor holds, in start order, and their generations.
        self.present = list(self.specs)
        self.generation = dict.fromkeys(self.specs, 1)
        self.restarts = dict.fromkeys(self.specs, 0)
        self.window_used = 0
        self.dead = False
        self.failures: list[Exception] = []
        self.tree = self.portal.wrap_async_context_manager(
            running(self.root, on_failure=self.failures.append)
        )
        self.tree.__enter__()

    def ask(self, name: str, message: Message, timeout: float | None = None) -> Any:
        async def go() -> Any:
            with anyio.fail_after(HANG):
                try:
                    return await self.specs[name].ref.ask(message, timeout=timeout)
                except (ActorDead, AskTimeout, Boom) as exc:
                    return exc

        return self.portal.call(go)

    def child_ended(self, name: str, restart: bool) -> None:
        """Apply the supervisor's policy to the model."""
        if not restart:
            self.present.remove(name)
            return
        if self.window_used >= self.max_restarts:
            self.dead = True
            self.present = []
            return
        self.window_used += 1
        index = self.present.index(name)
        affected = {
            Strategy.ONE_FOR_ONE: [name],
            Strategy.ONE_FOR_ALL: list(self.present),
            Strategy.REST_FOR_ONE: self.present[index:],
        }[self.strategy]
        for child in affected:
            if self.kinds[child] is Restart.TEMPORARY:  # stopped with the group, for good
                self.present.remove(child)
                continue
            self.generation[child] += 1
            self.restarts[child] += 1

    def wait_settled(self) -> None:
        def done() -> bool:
            if self.dead:
                return bool(self.failures)
            return all(
                self.journal.starts.get(name) == self.generation[name]
                and self.specs[name].metrics.status is Status.RUNNING
                for name in self.present
            )

        async def go() -> None:
            with anyio.fail_after(HANG):
                while not done():
                    await anyio.sleep(0.001)

        self.portal.call(go)

    names = st.sampled_from(NAMES)

    @rule(name=names, value=st.integers())
    def echo(self, name: str, value: int) -> None:
        if name not in self.specs:
            return
        answer = self.ask(name, Echo(value))
        if name in self.present:
            assert answer == value
        else:
            assert isinstance(answer, ActorDead)

    @rule(name=names)
    def crash(self, name: str) -> None:
        if name not in self.specs:
            return
        answer = self.ask(name, Crash())
        if name not in self.present:
            assert isinstance(answer, ActorDead)
            return
        assert isinstance(answer, Boom)
        self.child_ended(name, restart=self.kinds[name] is not Restart.TEMPORARY)
        self.wait_settled()

    @rule(name=names)
    def finish(self, name: str) -> None:
        if name not in self.specs:
            return
        answer = self.ask(name, Finish())
        if name not in self.present:
            assert isinstance(answer, ActorDead)
            return
        assert answer == "bye"
        self.child_ended(name, restart=self.kinds[name] is Restart.PERMANENT)
        self.wait_settled()

    @precondition(lambda self: not self.dead)
    @rule(name=names)
    def slow(self, name: str) -> None:
        if name not in self.specs:
            return
        answer = self.ask(name, Sleep(0.02), timeout=0.005)
        assert isinstance(answer, AskTimeout if name in self.present else ActorDead)

    @invariant()
    def policy_holds(self) -> None:
        if self.tree is None:
            return
        assert (self.root.metrics.status is Status.FAILED) is self.dead
        assert bool(self.failures) is self.dead
        for name, spec in self.specs.items():
            assert spec.metrics.restarts == self.restarts[name]
        if not self.dead:
            assert self.root.child_names() == self.present

    def teardown(self) -> None:
        try:
            if self.tree is not None:
                before = len(self.journal.events)
                self.tree.__exit__(None, None, None)
                stopped = [name for kind, name, _ in self.journal.events[before:] if kind == "stop"]
                assert stopped == list(reversed(self.present))
        finally:
            self.portal_cm.__exit__(None, None, None)


model_settings = settings(
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class TreeOnAsyncio(TreeModel):
    backend = "asyncio"


class TreeOnTrio(TreeModel):
    backend = "trio"


@pytest.mark.parametrize("machine", [TreeOnAsyncio, TreeOnTrio], ids=["asyncio", "trio"])
def test_tree_follows_the_model(machine: type[TreeModel]) -> None:
    machine.TestCase.settings = model_settings
    machine.TestCase().runTest()
