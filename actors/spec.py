"""Restart policy as data, and the protocol every supervised child follows."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator

    from anyio.abc import TaskStatus


class Restart(enum.Enum):
    PERMANENT = "permanent"  # always restarted
    TRANSIENT = "transient"  # restarted only after a failure
    TEMPORARY = "temporary"  # never restarted


class Strategy(enum.Enum):
    ONE_FOR_ONE = "one_for_one"  # restart the child that ended
    ONE_FOR_ALL = "one_for_all"  # restart every child
    REST_FOR_ONE = "rest_for_one"  # restart it and the children started after it


class Status(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    STOPPING = "stopping"
    STOPPED = "stopped"  # stopped by its supervisor
    COMPLETED = "completed"  # ended by itself and, by its policy, stays ended
    FAILED = "failed"  # could not be kept running


UP = frozenset({Status.RUNNING, Status.COMPLETED})


@dataclass(slots=True)
class ActorMetrics:
    """Counters of one node of the tree, read by /metrics and /ready."""

    status: Status = Status.STOPPED
    handled: int = 0
    failures: int = 0
    restarts: int = 0
    mailbox_depth: int = 0
    # Set by a child that runs but cannot serve (its store is unreachable, say).
    unhealthy: str | None = None

    @property
    def up(self) -> bool:
        return self.status in UP and self.unhealthy is None


@dataclass(frozen=True, slots=True)
class Node:
    path: str
    kind: str
    metrics: ActorMetrics


class ChildSpec(Protocol):
    """What a supervisor needs from a child: an actor spec or another supervisor."""

    name: str
    restart: Restart
    shutdown_timeout: float
    metrics: ActorMetrics

    async def run(self, *, task_status: TaskStatus[None]) -> None:
        """Run one incarnation; call `task_status.started()` once ready."""

    def request_stop(self) -> None:
        """Ask the running incarnation to finish gracefully."""

    def close(self) -> None:
        """The child is stopped for good: refuse its pending and future messages."""

    def nodes(self, prefix: str) -> Iterator[Node]:
        """This node and every node below it."""


@dataclass(slots=True)
class RestartWindow:
    """Allows `max_restarts` restarts within any `within` seconds; one more escalates."""

    max_restarts: int
    within: float
    _times: deque[float] = field(default_factory=deque)

    def allow(self, now: float) -> bool:
        """Record a restart at `now`; False when it would exceed the intensity."""
        while self._times and self._times[0] <= now - self.within:
            self._times.popleft()
        if len(self._times) >= self.max_restarts:
            return False
        self._times.append(now)
        return True


class StartWatch:
    """Passes `started()` on to the real task status and remembers that it came."""

    def __init__(self, inner: TaskStatus[Any]) -> None:
        self._inner = inner
        self.has_started = False

    def started(self, value: Any = None) -> None:
        self.has_started = True
        self._inner.started(value)
