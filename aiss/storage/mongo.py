"""The MongoDB client: beanie over pymongo's async driver, with a health probe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure

from actors import Service

from ..errors import StoreUnavailable
from .breaker import Breaker
from .models import DOCUMENT_MODELS

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import anyio
    from anyio.abc import TaskStatus
    from beanie import Document
    from pymongo.asynchronous.collection import AsyncCollection
    from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]


class MongoStore(Service):
    """Connects, creates the models' indexes, and watches the server.

    A server that is down at start is not fatal: the store starts unhealthy,
    calls fail with 503 and the probe connects once the server answers.
    """

    def __init__(
        self,
        uri: Callable[[], str],
        database: str,
        *,
        username: str | None = None,
        password: str | None = None,
        models: Sequence[type[Document]] = DOCUMENT_MODELS,
        probe_interval: float = 2.0,
        timeout: float = 2.0,
        name: str = "mongo",
    ) -> None:
        super().__init__(name)
        self._uri = uri
        self._database_name = database
        self._credentials = {"username": username, "password": password} if username else {}
        self._models = list(models)
        self.probe_interval = probe_interval
        self.timeout = timeout
        self.breaker = Breaker("database", self.metrics, (ConnectionFailure,))
        self._database: AsyncDatabase[Doc] | None = None
        self._ready = False

    @property
    def database(self) -> AsyncDatabase[Doc]:
        if self._database is None or not self._ready:
            raise StoreUnavailable("database")
        return self._database

    def collection(self, name: str) -> AsyncCollection[Doc]:
        return self.database[name]

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        ms = int(self.timeout * 1000)
        client: AsyncMongoClient[Doc] = AsyncMongoClient(
            self._uri(),
            tz_aware=True,
            serverSelectionTimeoutMS=ms,
            connectTimeoutMS=ms,
            socketTimeoutMS=ms * 5,
            appname="aiss",
            **self._credentials,  # type: ignore[arg-type]
        )
        self._database = client[self._database_name]
        try:
            await self.breaker.watch(
                self._check,
                task_status,
                interval=self.probe_interval,
                limit=self.timeout * 2,
                stop=stop,
            )
        finally:
            self._ready = False
            self._database = None
            await client.close()

    async def _check(self) -> None:
        assert self._database is not None
        await self._database.command("ping")
        if not self._ready:
            # Creates the indexes; beanie binds the models to this database.
            await init_beanie(database=self._database, document_models=self._models)
            self._ready = True
