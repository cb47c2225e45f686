"""Stores that go away and come back, under load: 503s that are quick, then recovery."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

import anyio
import pytest

from aiss.app import create_app
from aiss.config import Settings
from aiss.errors import StoreUnavailable, error_response
from aiss.storage.jobs import JobQueue

from ...servers import serving

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiss.storage.embedded import EmbeddedMongo, EmbeddedS3
    from aiss.storage.mongo import MongoStore
    from aiss.storage.objects import ObjectStore

    from .conftest import Harness

pytestmark = pytest.mark.anyio
SLOWEST = 3.0  # no call may take longer than this, outage or not


async def hammer(
    call: Callable[[], Awaitable[object]], outcomes: list[str], stop: anyio.Event
) -> None:
    """Keep calling; record each outcome, and fail on anything but success or a 503."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            await call()
            outcomes.append("ok")
        except StoreUnavailable as exc:
            response = error_response(exc)
            assert response.status == 503 and response.headers["Retry-After"] == "5"
            outcomes.append("503")
        assert time.monotonic() - started < SLOWEST
        await anyio.sleep(0.01)


async def until(check: Callable[[], bool], timeout: float = 10) -> None:
    with anyio.fail_after(timeout):
        while not check():
            await anyio.sleep(0.02)


async def test_database_outage_fails_fast_and_recovers(
    harness: Harness, mongo_server: EmbeddedMongo, mongo: MongoStore
) -> None:
    jobs = JobQueue(lambda: mongo.collection("jobs"), breaker=mongo.breaker)
    await until(lambda: mongo.metrics.unhealthy is None)
    outcomes: list[str] = []
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(hammer, lambda: jobs.enqueue("k", {}), outcomes, stop)
        await until(lambda: "ok" in outcomes)
        await harness.stop(mongo_server)
        await until(lambda: outcomes[-3:] == ["503"] * 3)
        assert mongo.metrics.unhealthy is not None
        assert mongo.metrics.unhealthy.startswith("database unreachable")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await jobs.counts()
        assert time.monotonic() - started < 0.1  # the breaker answers without waiting
        await harness.start(mongo_server)
        await until(lambda: outcomes[-3:] == ["ok"] * 3)
        stop.set()
    assert mongo.metrics.unhealthy is None
    # One request at a time: the one in flight as the server went away may have been
    # written though its answer was lost (a 503 says the outcome is unknown).
    queued = (await jobs.counts())["queued"]
    assert outcomes.count("ok") <= queued <= outcomes.count("ok") + 1


async def test_object_store_outage_fails_fast_and_recovers(
    harness: Harness, s3_server: EmbeddedS3, objects: ObjectStore
) -> None:
    await until(lambda: objects.metrics.unhealthy is None)
    outcomes: list[str] = []
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(hammer, lambda: objects.put(uuid.uuid4().hex, b"x"), outcomes, stop)
        await until(lambda: "ok" in outcomes)
        await harness.stop(s3_server)
        await until(lambda: outcomes[-3:] == ["503"] * 3)
        assert objects.metrics.unhealthy is not None
        await harness.start(s3_server)
        await until(lambda: outcomes[-3:] == ["ok"] * 3)
        stop.set()


async def test_ready_names_the_unreachable_store_until_it_returns(
    harness: Harness, mongo_server: EmbeddedMongo, s3_server: EmbeddedS3
) -> None:
    key, secret = s3_server.credentials()
    settings = Settings.from_env(
        {
            "AISS_DATA_DIR": str(harness.data / "app"),
            "AISS_SSH_PORT": "0",
            "MONGODB_URI": mongo_server.uri,
            "AISS_S3_ENDPOINT": s3_server.endpoint,
            "MINIO_ROOT_USER": key,
            "MINIO_ROOT_PASSWORD": secret,
            "AISS_HEALTH_INTERVAL": "100ms",
        },
        env_file=None,
    )
    async with serving(create_app(settings)) as client:

        async def ready() -> dict[str, object]:
            response = await client.get("/ready")
            body: dict[str, object] = response.json()
            assert response.status_code == (200 if body["ready"] else 503)
            return body

        with anyio.fail_after(10):
            while not (await ready())["ready"]:
                await anyio.sleep(0.05)
        await harness.stop(mongo_server)
        with anyio.fail_after(10):
            while (body := await ready())["ready"]:
                await anyio.sleep(0.05)
        down = body["not_ready"]
        assert isinstance(down, list) and len(down) == 1
        assert down[0]["actor"] == "root/stores/mongo"
        assert down[0]["status"] == "running"
        assert down[0]["reason"].startswith("database unreachable")
        await harness.start(mongo_server)
        with anyio.fail_after(10):
            while not (await ready())["ready"]:
                await anyio.sleep(0.05)


async def test_an_unreachable_qdrant_server_is_reported_and_fails_fast(harness: Harness) -> None:
    from aiss.storage.vectors.service import VectorService

    from ...servers import free_port

    vectors = VectorService(
        url=f"http://127.0.0.1:{free_port()}",
        api_key=None,
        path=harness.data / "unused",
        probe_interval=0.1,
        timeout=0.5,
    )
    await harness.start(vectors)
    assert vectors.metrics.unhealthy is not None
    assert vectors.metrics.unhealthy.startswith("vector store unreachable")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await vectors.store.count("chunks")
    assert time.monotonic() - started < 0.1
