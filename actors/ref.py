"""The handle other code holds to talk to an actor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

import anyio

from .errors import AskTimeout
from .messages import Envelope, Reply, Request

if TYPE_CHECKING:
    from .mailbox import Mailbox

M = TypeVar("M")
R = TypeVar("R")


class ActorRef(Generic[M]):
    """Stays valid across restarts: it points at the mailbox, not at an incarnation."""

    __slots__ = ("_mailbox", "default_timeout", "name")

    def __init__(self, name: str, mailbox: Mailbox[M], default_timeout: float) -> None:
        self.name = name
        self._mailbox = mailbox
        self.default_timeout = default_timeout

    def __repr__(self) -> str:
        return f"ActorRef({self.name!r})"

    @property
    def alive(self) -> bool:
        return not self._mailbox.closed

    def tell(self, message: M) -> None:
        """Deliver without waiting; raises `MailboxFull` or `ActorDead`."""
        self._mailbox.put(Envelope(message))

    async def ask(self, message: Request[R], *, timeout: float | None = None) -> R:  # noqa: ASYNC109
        """Deliver and wait for the answer.

        Raises what the handler raised, `AskTimeout` after `timeout` seconds,
        `ActorDead` if the actor stops first, or `MailboxFull` at once.
        """
        limit = self.default_timeout if timeout is None else timeout
        reply: Reply[R] = Reply()
        self._mailbox.put(Envelope(message, reply))  # type: ignore[arg-type]
        try:
            with anyio.move_on_after(limit):
                return await reply.wait()
        finally:
            if not reply.done:
                reply.abandon()
        raise AskTimeout(self.name, limit)
