"""Supervised children that are long-running tasks rather than mailboxes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import anyio

from .spec import ActorMetrics, Node, Restart

if TYPE_CHECKING:
    from collections.abc import Iterator

    from anyio.abc import TaskStatus


class Service(ABC):
    """A server, a client with a health probe, a worker loop: anything that runs until told.

    Subclasses implement `serve`: acquire what they need, call
    `task_status.started()`, work until `stop` is set, then release. A
    supervisor restarts a service that raises, like any other child.
    """

    kind = "service"

    def __init__(
        self, name: str, *, restart: Restart = Restart.PERMANENT, shutdown_timeout: float = 5.0
    ) -> None:
        self.name = name
        self.restart = restart
        self.shutdown_timeout = shutdown_timeout
        self.metrics = ActorMetrics()
        self._stop: anyio.Event | None = None

    @abstractmethod
    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None: ...

    async def run(self, *, task_status: TaskStatus[None]) -> None:
        self._stop = stop = anyio.Event()
        try:
            await self.serve(task_status, stop)
        finally:
            self._stop = None

    def request_stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def close(self) -> None:
        """Nothing queues for a service, so there is nothing to refuse."""
        return None

    def nodes(self, prefix: str) -> Iterator[Node]:
        yield Node(f"{prefix}{self.name}", self.kind, self.metrics)
