"""`aiss serve` on embedded defaults: every store embedded, and data kept across restarts."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import anyio
import pytest

from aiss.app import create_app
from aiss.config import Settings
from aiss.errors import StoreUnavailable
from aiss.state import AppState
from aiss.storage.vectors import Point, VectorFilter

if TYPE_CHECKING:
    from pathlib import Path

    from aiss.storage.stores import Stores

pytestmark = pytest.mark.anyio


async def healthy(stores: Stores) -> None:
    with anyio.fail_after(10):
        while True:
            try:
                await stores.jobs.counts()
                await stores.objects.head("probe")
                return
            except StoreUnavailable:
                await anyio.sleep(0.05)


async def test_embedded_stores_keep_their_data_across_restarts(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"AISS_DATA_DIR": str(tmp_path), "AISS_SSH_PORT": "0"}, env_file=None
    )
    point = Point(str(uuid.uuid4()), [1.0, 0.0, 0.0], {"owner_id": "u1", "scope": "personal"})

    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        aiss = state["aiss"]  # type: ignore[index]
        assert isinstance(aiss, AppState) and aiss.stores is not None
        stores = aiss.stores
        assert [n.path for n in aiss.root.nodes()] == [
            "root",
            "root/stores",
            "root/stores/embedded_mongo",
            "root/stores/embedded_s3",
            "root/stores/mongo",
            "root/stores/objects",
            "root/stores/vectors",
            "root/embedding",
            "root/embedding/general.model",
            "root/embedding/general.ingest",
            "root/embedding/general",
            "root/users",
            "root/users/users",
            "root/documents",
            "root/documents/ingest",
            "root/terminals",
            "root/terminals/sessions",
            "root/terminals/janitor",
        ]
        await healthy(stores)
        job_id = await stores.jobs.enqueue("ingest", {"document_id": "d1"})
        await stores.objects.put("u1/d1", b"original bytes")
        await stores.vectors.store.create_collection("chunks", 3)
        await stores.vectors.store.upsert("chunks", [point])
        await stores.vectors.store.point_alias("general", "chunks")

    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        stores = state["aiss"].stores  # type: ignore[index]
        await healthy(stores)
        job = await stores.jobs.get(job_id)
        assert job is not None and job.payload == {"document_id": "d1"}
        assert await stores.objects.read("u1/d1") == b"original bytes"
        hits = await stores.vectors.store.search(
            "general", [1.0, 0.0, 0.0], filter=VectorFilter(all={"owner_id": "u1"})
        )
        assert [h.id for h in hits] == [point.id]


async def test_the_gateway_role_runs_no_stores(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"AISS_DATA_DIR": str(tmp_path), "AISS_ROLE": "gateway"}, env_file=None
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app) as state:
        assert [n.path for n in state["aiss"].root.nodes()] == ["root"]  # type: ignore[index]
        assert state["aiss"].stores is None  # type: ignore[index]
