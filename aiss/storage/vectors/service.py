"""The supervised owner of the vector store: Qdrant's server, or its engine in a worker process."""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING

import anyio
from qdrant_client import AsyncQdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException

from actors import Service

from ...errors import StoreUnavailable
from ...workers.process import Worker
from ..breaker import Breaker
from .edge import EdgeShards, EdgeVectors
from .qdrant import QdrantVectors

if TYPE_CHECKING:
    from pathlib import Path

    from anyio.abc import TaskStatus

    from .base import VectorStore

logger = logging.getLogger("aiss.vectors")


class VectorService(Service):
    def __init__(
        self,
        *,
        url: str | None,
        api_key: str | None,
        path: Path,
        probe_interval: float = 2.0,
        timeout: float = 2.0,
        name: str = "vectors",
    ) -> None:
        super().__init__(name)
        self.url = url
        self.api_key = api_key
        self.path = path
        self.probe_interval = probe_interval
        self.timeout = timeout
        self.breaker = Breaker("vector store", self.metrics, (ResponseHandlingException,))
        self._store: VectorStore | None = None
        # One engine worker for the life of the service: a store handed out before a
        # restart reaches the new engine, not a stopped one.
        self.engine = Worker(
            f"{name}.engine",
            functools.partial(EdgeShards.opened, path),
            shutdown_timeout=self.shutdown_timeout,
        )

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            raise StoreUnavailable("vector store")
        return self._store

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        if self.url is None:
            await self._serve_engine(task_status, stop)
            return
        client = AsyncQdrantClient(
            url=self.url,
            api_key=self.api_key,
            timeout=int(self.timeout),
            check_compatibility=False,  # the probe reports a server that does not answer
        )
        self._store = QdrantVectors(client, breaker=self.breaker)
        try:
            await self.breaker.watch(
                client.get_collections,
                task_status,
                interval=self.probe_interval,
                limit=self.timeout * 2,
                stop=stop,
            )
        finally:
            self._store = None
            await client.close()

    async def _serve_engine(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        """Qdrant's engine in a worker process that owns the data dir; if it dies, so
        does this service, and the supervisor starts both again."""
        engine = self.engine
        async with anyio.create_task_group() as tg:
            await tg.start(engine.run)
            edge = EdgeVectors(self.path, engine)
            started = time.perf_counter()
            built = await edge.build_indexes()
            if built:
                seconds = round(time.perf_counter() - started, 1)
                logger.info("vector indexes built", extra={"points": built, "seconds": seconds})
            self._store = edge
            try:
                task_status.started()
                await stop.wait()
            finally:
                self._store = None
                engine.request_stop()
