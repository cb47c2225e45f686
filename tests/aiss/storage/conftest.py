from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from actors import DynamicSupervisor, Restart, running
from aiss.storage.embedded import EmbeddedMongo, EmbeddedS3
from aiss.storage.mongo import MongoStore
from aiss.storage.objects import ObjectStore, S3Access

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from actors import ChildSpec


class Harness:
    """Real servers and clients under one dynamic supervisor, started and stopped at will."""

    def __init__(self, tree: DynamicSupervisor, data: Path) -> None:
        self.tree = tree
        self.data = data

    async def start(self, *children: ChildSpec) -> None:
        for child in children:
            child.restart = Restart.TEMPORARY
            await self.tree.start_child(child)

    async def stop(self, child: ChildSpec) -> None:
        await self.tree.terminate_child(child.name)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    tree = DynamicSupervisor("test")
    async with running(tree):
        yield Harness(tree, tmp_path)


@pytest.fixture
async def mongo_server(harness: Harness) -> EmbeddedMongo:
    server = EmbeddedMongo(harness.data / "mongo")
    await harness.start(server)
    return server


@pytest.fixture
async def mongo(harness: Harness, mongo_server: EmbeddedMongo) -> MongoStore:
    store = MongoStore(lambda: mongo_server.uri, f"t{uuid.uuid4().hex[:12]}", probe_interval=0.1)
    await harness.start(store)
    return store


@pytest.fixture
async def s3_server(harness: Harness) -> EmbeddedS3:
    server = EmbeddedS3(harness.data / "s3", region="us-east-1")
    await harness.start(server)
    return server


@pytest.fixture
async def objects(harness: Harness, s3_server: EmbeddedS3) -> ObjectStore:
    def access() -> S3Access:
        key, secret = s3_server.credentials()
        return S3Access(s3_server.endpoint, key, secret, "us-east-1")

    store = ObjectStore(access, "aiss-test", part_size=5 * 1024 * 1024, probe_interval=0.1)
    await harness.start(store)
    return store
