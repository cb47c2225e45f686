"""Knowing whether a store answers, so that calls fail at once while it does not."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import TYPE_CHECKING

import anyio

from ..errors import StoreUnavailable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from anyio.abc import TaskStatus

    from actors import ActorMetrics

logger = logging.getLogger("aiss.storage")


class Breaker:
    """A circuit breaker fed by failures of real calls and by a periodic probe.

    While open, `guard` raises `StoreUnavailable` (HTTP 503 with Retry-After)
    without touching the store; the probe closes it when the store answers
    again. Its state shows on the owning child's metrics, so `/ready` names
    the store.
    """

    def __init__(
        self,
        store: str,
        metrics: ActorMetrics,
        errors: tuple[type[BaseException], ...],
        retry_after: int = 5,
    ) -> None:
        self.store = store
        self.errors = errors
        self._probe_errors: tuple[type[BaseException], ...] = (*errors, TimeoutError, OSError)
        self.retry_after = retry_after
        self._metrics = metrics
        self.reason: str | None = "not checked yet"
        self._healthy: anyio.Event | None = None

    @property
    def healthy(self) -> bool:
        return self.reason is None

    def trip(self, reason: str) -> None:
        if self.reason is None:
            logger.warning("%s is unreachable", self.store, extra={"reason": reason})
        self.reason = reason
        self._metrics.unhealthy = f"{self.store} unreachable: {reason}"

    def reset(self) -> None:
        if self.reason is not None and self.reason != "not checked yet":
            logger.info("%s is reachable again", self.store)
        self.reason = None
        self._metrics.unhealthy = None
        if self._healthy is not None:
            self._healthy.set()

    async def wait_healthy(self) -> None:
        """Return once the store has answered a probe."""
        while self.reason is not None:
            self._healthy = anyio.Event()
            await self._healthy.wait()

    def check(self) -> None:
        if self.reason is not None:
            raise StoreUnavailable(self.store, self.retry_after)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Fail fast while open; trip on a connection error of the store's client."""
        self.check()
        try:
            yield
        except self.errors as exc:
            self.trip(f"{type(exc).__name__}: {exc}")
            raise StoreUnavailable(self.store, self.retry_after) from exc

    async def probe(self, check: Callable[[], Awaitable[object]], limit: float) -> bool:
        """Run `check` once, for at most `limit` seconds; close or open the breaker."""
        try:
            with anyio.fail_after(limit):
                await check()
        except self._probe_errors as exc:
            self.trip(f"{type(exc).__name__}: {exc}")
            return False
        self.reset()
        return True

    async def watch(
        self,
        check: Callable[[], Awaitable[object]],
        task_status: TaskStatus[None],
        *,
        interval: float,
        limit: float,
        stop: anyio.Event,
    ) -> None:
        """Probe once, report started (healthy or not), then probe every `interval` until `stop`."""
        await self.probe(check, limit)
        task_status.started()
        while not stop.is_set():
            with anyio.move_on_after(interval):
                await stop.wait()
            if not stop.is_set():
                await self.probe(check, limit)
