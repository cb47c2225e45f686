"""Ingestion that is interrupted resumes cleanly; reindexing switches collections."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import anyio
import pytest

from aiss.app import create_app
from aiss.storage.models import ChunkRecord, StoredDocument
from aiss.storage.vectors import Query, VectorFilter

from ..routes.conftest import app_settings

if TYPE_CHECKING:
    from pathlib import Path

    from aiss.documents.library import Library
    from aiss.state import AppState

pytestmark = pytest.mark.anyio
TEXT = ("Paragraph about supervision and restarts. " * 30 + "\n\n") * 12


class Crash(Exception):
    pass


async def stored(library: Library, text: bytes, scope: str = "personal", area_id: str = "") -> str:
    """A document with its blob but no queued job, so that only the test runs its ingestion."""
    key = f"t/{uuid.uuid4().hex}.txt"
    await library.stores.objects.put(key, text)
    doc = StoredDocument(
        owner_id="u1",
        scope=scope,
        area_id=area_id,
        title="t",
        filename="t.txt",
        media_type="text/plain",
        size=len(text),
        sha256=uuid.uuid4().hex,
        blob_key=key,
    )
    await doc.insert()
    return str(doc.id)


async def no_beat() -> None:
    return None


async def wait_ready(state: AppState, document_id: str) -> StoredDocument:
    with anyio.fail_after(60):
        while True:
            doc = await StoredDocument.get(document_id)
            assert doc is not None
            if doc.status in ("ready", "failed"):
                return doc
            await anyio.sleep(0.05)


async def test_a_crash_mid_ingestion_is_resumed_without_duplicates(tmp_path: Path) -> None:
    app = create_app(app_settings(tmp_path, AISS_INGEST_WORKERS="1", AISS_CHUNK_TOKENS="64"))
    async with app.router.lifespan_context(app) as lifespan:
        state: AppState = lifespan["aiss"]  # type: ignore[index]
        library = state.documents
        assert library is not None and state.users is not None
        document_id = await stored(library, TEXT.encode())
        ingestion = library.workers.ingestion
        # A worker that dies after its first embedded batch:
        beats = 0

        async def dying_beat() -> None:
            nonlocal beats
            beats += 1
            if beats == 2:
                raise Crash

        with pytest.raises(Crash):
            await ingestion.run(document_id, dying_beat)
        half = await StoredDocument.get(document_id)
        assert half is not None and half.status != "ready"

        await ingestion.run(document_id, no_beat)
        done = await wait_ready(state, document_id)
        assert done.status == "ready"
        chunks = await ChunkRecord.find(ChunkRecord.document_id == document_id).count()
        assert chunks == done.chunk_count > 2
        vectors = await state.stores.vectors.store.count(  # type: ignore[union-attr]
            "personal", VectorFilter(all={"document_id": document_id})
        )
        assert vectors == chunks


async def test_reindex_builds_a_new_collection_and_switches(tmp_path: Path) -> None:
    app = create_app(app_settings(tmp_path))
    async with app.router.lifespan_context(app) as lifespan:
        state: AppState = lifespan["aiss"]  # type: ignore[index]
        library = state.documents
        assert library is not None and state.stores is not None
        document_id = await stored(library, b"reindex me please, about zebras")
        ingestion = library.workers.ingestion
        await ingestion.run(document_id, no_beat)
        store = state.stores.vectors.store
        before = await store.resolve("personal")
        target, count = await ingestion.reindex("personal")
        assert count == 1 and target != before and target.startswith(before)
        assert await store.resolve("personal") == target
        assert before in await store.collections()  # the old one is kept
        hits = await store.search(
            "personal",
            (await library.embeddings.roles["personal"].embed(["zebras"])).vectors[0].tolist(),
        )
        assert [h.payload["document_id"] for h in hits] == [document_id]


async def test_a_collection_without_keyword_vectors_gains_them_by_reindex(
    tmp_path: Path,
) -> None:
    """As after an upgrade: the old collection serves (dense) until the rebuilt one,
    with keyword vectors, takes over."""
    app = create_app(app_settings(tmp_path))
    async with app.router.lifespan_context(app) as lifespan:
        state: AppState = lifespan["aiss"]  # type: ignore[index]
        library = state.documents
        assert library is not None and state.stores is not None
        ingestion = library.workers.ingestion
        store = state.stores.vectors.store
        old = ingestion.base_collection("personal")
        await store.create_collection(old, 384, keywords=False)
        await store.point_alias("personal", old)
        document_id = await stored(library, b"the quagga-7 setting tunes zebras")
        await ingestion.run(document_id, no_beat)
        keywords = Query(keywords=ingestion.retrieval.keywords.query("quagga-7"))
        assert await store.resolve("personal") == old
        assert await store.search("personal", keywords) == []
        target, count = await ingestion.reindex("personal")
        assert count == 1 and await store.resolve("personal") == target
        assert await store.has_keywords("personal") and not await store.has_keywords(old)
        hits = await store.search("personal", keywords)
        assert [h.payload["document_id"] for h in hits] == [document_id]


def test_reindex_on_the_command_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    async def seed() -> None:
        app = create_app(app_settings(tmp_path))
        async with app.router.lifespan_context(app) as lifespan:
            state: AppState = lifespan["aiss"]  # type: ignore[index]
            assert state.documents is not None
            library = state.documents
            document_id = await stored(library, b"command line reindex", "shared", "a")
            await library.workers.ingestion.run(document_id, no_beat)

    anyio.run(seed)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AISS_DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "warning",
    }
    result = subprocess.run(
        [sys.executable, "-m", "aiss", "reindex", "--scope", "shared"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"documents": 1' in result.stdout


async def test_a_document_left_without_a_job_is_queued_again(tmp_path: Path) -> None:
    app = create_app(app_settings(tmp_path, AISS_INGEST_WORKERS="1"))
    async with app.router.lifespan_context(app) as lifespan:
        state: AppState = lifespan["aiss"]  # type: ignore[index]
        library = state.documents
        assert library is not None
        left = await stored(library, TEXT.encode())
        fresh = await stored(library, TEXT.encode())
        workers = library.workers
        assert await workers.rescue() == 0  # too recent to call it left behind
        doc = await StoredDocument.get(left)
        assert doc is not None
        doc.updated_at -= 3600
        await doc.save()
        assert await workers.rescue() == 1
        assert (await wait_ready(state, left)).status == "ready"
        assert await workers.rescue() == 0  # it has its job now
        untouched = await StoredDocument.get(fresh)
        assert untouched is not None and untouched.status == "queued"
