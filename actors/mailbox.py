"""A bounded, single-consumer queue that survives restarts of its actor."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Generic, TypeVar

import anyio

from .errors import ActorDead, MailboxFull

if TYPE_CHECKING:
    from .messages import Envelope

M = TypeVar("M")


class Mailbox(Generic[M]):
    """Messages wait here while the actor works, and while it restarts.

    `put` never blocks: a full mailbox refuses at once so that callers can shed
    load (HTTP 429) instead of queueing without bound. Closing it answers every
    waiting ask with `ActorDead`; `open` makes it accept messages again when the
    actor is started anew.
    """

    def __init__(self, owner: str, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a mailbox holds at least one message")
        self.owner = owner
        self.capacity = capacity
        self._queue: deque[Envelope[M]] = deque()
        self._waiter: anyio.Event | None = None
        self._closed = True

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def closed(self) -> bool:
        return self._closed

    def open(self) -> None:
        self._closed = False

    def put(self, envelope: Envelope[M]) -> None:
        if self._closed:
            raise ActorDead(self.owner)
        if len(self._queue) >= self.capacity:
            raise MailboxFull(self.owner, self.capacity)
        self._queue.append(envelope)
        if self._waiter is not None:
            self._waiter.set()

    async def get(self) -> Envelope[M]:
        while not self._queue:
            self._waiter = anyio.Event()
            try:
                await self._waiter.wait()
            finally:
                self._waiter = None
        return self._queue.popleft()

    def close(self) -> None:
        self._closed = True
        while self._queue:
            envelope = self._queue.popleft()
            if envelope.reply is not None:
                envelope.reply.reject(ActorDead(self.owner))
