"""The Actor base class and the spec that runs it under a supervisor."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import anyio

from .errors import ActorDead
from .mailbox import Mailbox
from .ref import ActorRef
from .spec import ActorMetrics, Node, Restart

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from anyio.abc import TaskStatus

    from .messages import Envelope

M = TypeVar("M")
logger = logging.getLogger("actors")


class Actor(Generic[M]):
    """Owns its state; sees one message at a time.

    An exception from `handle` goes back to the asker. It also ends the
    incarnation (the supervisor decides about a restart) unless it is an
    instance of `recoverable`: expected errors such as "not found" are answers,
    not crashes.
    """

    recoverable: ClassVar[tuple[type[Exception], ...]] = ()
    _stopping: bool = False

    async def on_start(self) -> None:
        """Acquire resources; runs before any message is handled."""

    async def handle(self, message: M) -> Any:
        raise NotImplementedError

    async def on_stop(self) -> None:
        """Release resources; runs after a graceful stop and after a crash."""

    def stop(self) -> None:
        """End this incarnation normally once the current message is handled."""
        self._stopping = True


class ActorSpec(Generic[M]):
    """Runs incarnations of an actor made by `factory`, all fed by one mailbox."""

    kind = "actor"

    def __init__(
        self,
        name: str,
        factory: Callable[[], Actor[M]],
        *,
        restart: Restart = Restart.PERMANENT,
        mailbox_size: int = 1024,
        ask_timeout: float = 10.0,
        shutdown_timeout: float = 5.0,
    ) -> None:
        self.name = name
        self.restart = restart
        self.shutdown_timeout = shutdown_timeout
        self.metrics = ActorMetrics()
        self._factory = factory
        self._mailbox: Mailbox[M] = Mailbox(name, mailbox_size)
        self.ref: ActorRef[M] = ActorRef(name, self._mailbox, ask_timeout)
        self._actor: Actor[M] | None = None
        self._idle: anyio.CancelScope | None = None

    def __repr__(self) -> str:
        return f"ActorSpec({self.name!r})"

    async def run(self, *, task_status: TaskStatus[None]) -> None:
        actor = self._factory()
        await actor.on_start()
        self._actor = actor
        self._mailbox.open()
        task_status.started()
        current: Envelope[M] | None = None
        try:
            while not actor._stopping:
                with anyio.CancelScope() as self._idle:
                    current = await self._mailbox.get()
                self._idle = None
                if current is None:
                    break
                await self._dispatch(actor, current)
                current = None
        finally:
            self._actor = None
            if current is not None and current.reply is not None:
                current.reply.reject(ActorDead(self.name))
            # Shielded: on_stop releases resources even when the stop is forced.
            with anyio.CancelScope(shield=True) as scope:
                scope.deadline = anyio.current_time() + self.shutdown_timeout
                await actor.on_stop()

    async def _dispatch(self, actor: Actor[M], envelope: Envelope[M]) -> None:
        reply = envelope.reply
        if reply is not None and reply.abandoned:
            return
        try:
            result = await actor.handle(envelope.message)
        except Exception as exc:
            if reply is not None:
                reply.reject(exc)
            if not isinstance(exc, actor.recoverable):
                raise
        else:
            if reply is not None:
                reply.resolve(result)
        self.metrics.handled += 1

    def request_stop(self) -> None:
        if self._actor is not None:
            self._actor.stop()
        if self._idle is not None:
            self._idle.cancel()

    def close(self) -> None:
        self._mailbox.close()

    def nodes(self, prefix: str) -> Iterator[Node]:
        self.metrics.mailbox_depth = len(self._mailbox)
        yield Node(f"{prefix}{self.name}", self.kind, self.metrics)
