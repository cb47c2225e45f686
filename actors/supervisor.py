"""Supervisors: start children in order, restart them by policy, stop them in reverse."""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from .errors import ActorDead, RestartIntensityExceeded, TooManyChildren
from .mailbox import Mailbox
from .messages import Envelope
from .spec import ActorMetrics, Node, Restart, RestartWindow, StartWatch, Status, Strategy

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from anyio.abc import TaskGroup, TaskStatus

    from .spec import ChildSpec

logger = logging.getLogger("actors")


@dataclass(eq=False)
class _Slot:
    spec: ChildSpec
    generation: int = 0
    scope: anyio.CancelScope | None = None
    done: anyio.Event | None = None


@dataclass(frozen=True, slots=True)
class _Exit:
    slot: _Slot | None  # None wakes the supervisor to stop
    generation: int = 0
    error: Exception | None = None


@dataclass
class Supervisor:
    """A supervisor is itself a child spec, so trees nest.

    Children start one after another (`tg.start`); a child that ends is
    restarted according to `strategy` and its `restart` type. More than
    `max_restarts` restarts within `within` seconds stop every child and raise
    `RestartIntensityExceeded` to the parent. Stopping goes in reverse start
    order: each child is asked to finish, given its `shutdown_timeout`, then
    cancelled; all of them within this supervisor's own `shutdown_timeout`,
    the budget its parent allows it.

    As in OTP: a temporary child is never restarted, not even as the sibling of
    one that is; and a supervisor that is restarted starts again from its
    `children`, without the ones added by `start_child`.
    """

    name: str
    children: Sequence[ChildSpec] = ()
    strategy: Strategy = Strategy.ONE_FOR_ONE
    max_restarts: int = 3
    within: float = 5.0
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float = 10.0
    max_children: int | None = None
    metrics: ActorMetrics = field(default_factory=ActorMetrics)
    kind = "supervisor"

    def __post_init__(self) -> None:
        names = [child.name for child in self.children]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: child names must be unique, got {names}")
        self._slots = [_Slot(child) for child in self.children]
        self._exits: Mailbox[_Exit] = Mailbox(self.name, 2**31)
        self._tg: TaskGroup | None = None
        self._lock = anyio.Lock()
        self._stop_requested = False

    # -- child spec protocol ------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None]) -> None:
        self._stop_requested = False
        self._slots = [_Slot(child) for child in self.children]
        self._exits.open()
        window = RestartWindow(self.max_restarts, self.within)
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                for slot in list(self._slots):
                    await self._start(slot)
                task_status.started()
                await self._supervise(window)
            except Exception as exc:
                error = exc  # a failed start or an escalation
            try:
                await self._stop_all()
            finally:
                # Reached on cancellation too, where nothing can be awaited.
                self.close()
                self._exits.close()
                self._tg = None
                tg.cancel_scope.cancel()
        if error is not None:
            # Raised outside the task group so the parent sees it unwrapped.
            raise error

    def request_stop(self) -> None:
        self._stop_requested = True
        if not self._exits.closed:
            self._exits.put(Envelope(_Exit(None)))

    def close(self) -> None:
        for slot in self._slots:
            slot.spec.close()

    def nodes(self, prefix: str = "") -> Iterator[Node]:
        path = f"{prefix}{self.name}"
        self.metrics.mailbox_depth = len(self._exits)
        yield Node(path, self.kind, self.metrics)
        for slot in self._slots:
            yield from slot.spec.nodes(f"{path}/")

    # -- dynamic children --------------------------------------------------

    async def start_child(self, spec: ChildSpec) -> None:
        """Add and start a child while the supervisor runs."""
        async with self._lock:
            if self._tg is None or self._stop_requested:
                raise ActorDead(self.name)
            if any(slot.spec.name == spec.name for slot in self._slots):
                raise ValueError(f"{self.name} already has a child named {spec.name!r}")
            if self.max_children is not None and len(self._slots) >= self.max_children:
                raise TooManyChildren(self.name, self.max_children)
            slot = _Slot(spec)
            self._slots.append(slot)
            try:
                await self._start(slot)
            except BaseException:
                self._slots.remove(slot)
                raise

    async def terminate_child(self, name: str) -> None:
        """Stop a child for good and forget it; unknown names are ignored."""
        async with self._lock:
            for slot in self._slots:
                if slot.spec.name == name:
                    await self._stop(slot, final=True)
                    self._slots.remove(slot)
                    return

    def child_names(self) -> list[str]:
        return [slot.spec.name for slot in self._slots]

    # -- internals -----------------------------------------------------------

    async def _start(self, slot: _Slot) -> None:
        assert self._tg is not None
        slot.generation += 1
        slot.spec.metrics.status = Status.STARTING
        try:
            await self._tg.start(self._child, slot, slot.generation)
        except Exception:
            slot.spec.metrics.status = Status.FAILED
            slot.spec.metrics.failures += 1
            raise
        slot.spec.metrics.status = Status.RUNNING

    async def _child(self, slot: _Slot, generation: int, *, task_status: TaskStatus[None]) -> None:
        watch = StartWatch(task_status)
        slot.done = done = anyio.Event()
        error: Exception | None = None
        try:
            with anyio.CancelScope() as slot.scope:
                await slot.spec.run(task_status=watch)
        except Exception as exc:
            if not watch.has_started:
                raise
            error = exc
        finally:
            done.set()
        if not watch.has_started:
            raise RuntimeError(f"{slot.spec.name} ended before it started")
        if not self._exits.closed:
            self._exits.put(Envelope(_Exit(slot, generation, error)))

    async def _supervise(self, window: RestartWindow) -> None:
        while not self._stop_requested:
            event = (await self._exits.get()).message
            slot = event.slot
            if slot is None or event.generation != slot.generation:
                continue
            async with self._lock:
                if slot in self._slots:
                    await self._child_ended(slot, event.error, window)

    async def _child_ended(
        self, slot: _Slot, error: Exception | None, window: RestartWindow
    ) -> None:
        spec = slot.spec
        if error is not None:
            spec.metrics.failures += 1
            logger.error("%s/%s failed", self.name, spec.name, exc_info=error)
        if spec.restart is Restart.TEMPORARY or (
            spec.restart is Restart.TRANSIENT and error is None
        ):
            spec.metrics.status = Status.COMPLETED
            spec.close()
            self._slots.remove(slot)
            return
        index = self._slots.index(slot)
        if self.strategy is Strategy.ONE_FOR_ONE:
            affected = [slot]
        elif self.strategy is Strategy.ONE_FOR_ALL:
            affected = list(self._slots)
        else:
            affected = self._slots[index:]
        await self._restart(affected, window)

    async def _restart(self, affected: list[_Slot], window: RestartWindow) -> None:
        """Stop the affected children still running (in reverse), start them all in order
        but the temporary ones, which are forgotten.

        One restart of the group counts once against the intensity; a start that
        fails stops the group again and counts as another restart.
        """
        while True:
            for slot in reversed(affected):
                await self._stop(slot, final=False)
                slot.spec.metrics.status = Status.RESTARTING
            for slot in [s for s in affected if s.spec.restart is Restart.TEMPORARY]:
                slot.spec.metrics.status = Status.STOPPED  # stopped with the group, for good
                slot.spec.close()
                self._slots.remove(slot)
                affected.remove(slot)
            if not window.allow(anyio.current_time()):
                self.metrics.status = Status.FAILED
                raise RestartIntensityExceeded(self.name, self.max_restarts, self.within)
            try:
                for slot in affected:
                    slot.spec.metrics.restarts += 1
                    await self._start(slot)
            except Exception as exc:
                logger.error("%s failed to restart a child", self.name, exc_info=exc)
                continue
            return

    async def _stop(self, slot: _Slot, *, final: bool, deadline: float = math.inf) -> None:
        """Ask the child to stop; cancel it after its `shutdown_timeout` (or at `deadline`)."""
        metrics = slot.spec.metrics
        if slot.done is not None and not slot.done.is_set():
            metrics.status = Status.STOPPING
            slot.spec.request_stop()
            until = min(anyio.current_time() + slot.spec.shutdown_timeout, deadline)
            with anyio.move_on_after(until - anyio.current_time()):
                await slot.done.wait()
            if not slot.done.is_set():
                logger.warning("%s/%s did not stop in time; cancelling", self.name, slot.spec.name)
                assert slot.scope is not None
                slot.scope.cancel()
                await slot.done.wait()
        if metrics.status is not Status.FAILED:
            metrics.status = Status.STOPPED
        if final:
            slot.spec.close()

    def _deadline(self) -> float:
        """When every child must have stopped: within the budget, a moment to spare for
        cancelling the late ones before the parent cancels this supervisor."""
        spare = min(1.0, self.shutdown_timeout / 10)
        return anyio.current_time() + self.shutdown_timeout - spare

    async def _stop_all(self) -> None:
        deadline = self._deadline()
        for slot in reversed(self._slots):
            await self._stop(slot, final=False, deadline=deadline)


@dataclass
class DynamicSupervisor(Supervisor):
    """Starts children on demand (one per terminal session, say), up to `max_children`.

    Restarts are one-for-one: dynamic children are independent of each other.
    """

    max_children: int | None = 1000

    def __post_init__(self) -> None:
        if self.strategy is not Strategy.ONE_FOR_ONE:
            raise ValueError("a dynamic supervisor restarts one child at a time")
        super().__post_init__()

    async def _stop_all(self) -> None:
        """Independent children stop together, within the one budget (not one after
        another, each with its own timeout)."""
        deadline = self._deadline()
        async with anyio.create_task_group() as tg:
            for slot in reversed(self._slots):
                tg.start_soon(functools.partial(self._stop, slot, final=False, deadline=deadline))
