"""Ingestion workers: lease a document's job, then extract, chunk, embed and index it.

Each step can be repeated: a worker that dies leaves its job to be leased
again, and the next attempt starts by removing whatever the last one wrote.
A file that cannot be read fails at once (no retry) and leaves nothing
indexed; a store or model that is unavailable makes the job retry later.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_process
import anyio.to_thread

from actors import Service

from ..errors import AissError, ServiceUnavailable, Timeout, TooManyRequests
from ..storage.jobs import LeaseLost
from ..storage.models import ChunkRecord, StoredDocument
from ..storage.vectors import Point, VectorFilter, collection_name
from .chunking import chunk
from .events import DocumentEvent
from .extract import ExtractionError, extract_in_worker
from .retrieval import CONTEXT_TOKENS, Retrieval, header, indexed_texts, lead

if TYPE_CHECKING:
    from anyio.abc import TaskStatus

    from ..embedding.service import TextEmbedder
    from ..embedding.tree import Embeddings
    from ..storage.jobs import Lease
    from ..storage.stores import Stores
    from .events import EventBus

logger = logging.getLogger("aiss.documents")
KIND = "ingest"
POINTS = uuid.UUID("6f1c0a52-8a0e-4c55-9d3b-7a1f2b6c9e01")
EMBED_BATCH = 64
EXTRACT_SECONDS = 120.0
RESCUE_SECONDS = 60.0  # how often workers look for documents left without a job
STRANDED_SECONDS = 120.0  # a queued document untouched this long, with no job, was left


def point_id(document_id: str, index: int) -> str:
    return str(uuid.uuid5(POINTS, f"{document_id}:{index}"))


class Permanent(Exception):
    """The document cannot be ingested, whatever the number of tries."""


class Ingestion:
    """What one document's ingestion needs, and each step of it."""

    def __init__(
        self,
        stores: Stores,
        embeddings: Embeddings,
        bus: EventBus,
        *,
        chunk_tokens: int = 256,
        overlap: int = 32,
        retrieval: Retrieval | None = None,
    ) -> None:
        self.stores = stores
        self.embeddings = embeddings
        self.bus = bus
        self.chunk_tokens = chunk_tokens
        self.overlap = overlap
        self.retrieval = retrieval or Retrieval()

    def embedder(self, scope: str) -> TextEmbedder:
        return self.embeddings.roles["general" if scope == "shared" else "personal"]

    def base_collection(self, scope: str) -> str:
        embedder = self.embedder(scope)
        return collection_name(scope, embedder.info.name, embedder.info.dimension)

    async def collection(self, scope: str) -> str:
        """Where new chunks of `scope` go: the collection of the configured model.

        That is the one the scope's alias points to, unless the model changed
        since; then it is the new model's collection, which `reindex` fills
        and switches the alias to while the old one keeps serving.
        """
        store = self.stores.vectors.store
        base = self.base_collection(scope)
        current = await store.resolve(scope)
        if current.startswith(base):
            return current
        await store.create_collection(base, self.embedder(scope).info.dimension)
        if current == scope:
            await store.point_alias(scope, base)
        return base

    async def stage(self, doc: StoredDocument, stage: str, percent: int, error: str = "") -> None:
        doc.status, doc.percent, doc.error = stage, percent, error
        doc.updated_at = time.time()
        with self.stores.mongo.breaker.guard():
            await doc.save()
        self.bus.publish(
            DocumentEvent(str(doc.id), doc.owner_id, doc.scope, doc.area_id, stage, percent, error)
        )

    async def forget(self, doc: StoredDocument) -> None:
        """Remove the document's chunks and vectors (not its record or blob)."""
        document_id = str(doc.id)
        with self.stores.mongo.breaker.guard():
            await ChunkRecord.find(ChunkRecord.document_id == document_id).delete()
        store = self.stores.vectors.store
        places = {await store.resolve(doc.scope), doc.collection} - {doc.scope, ""}
        existing = set(await store.collections())
        for collection in places & existing:
            await store.delete(collection, VectorFilter(all={"document_id": document_id}))

    async def run(self, document_id: str, beat: Any) -> None:
        with self.stores.mongo.breaker.guard():
            doc = await StoredDocument.get(document_id)
        if doc is None or doc.status == "ready":
            return
        await self.forget(doc)
        await self.stage(doc, "extracting", 5)
        data = await self.stores.objects.read(doc.blob_key)
        try:
            with anyio.fail_after(EXTRACT_SECONDS):
                extracted = await anyio.to_process.run_sync(extract_in_worker, data, doc.media_type)
        except TimeoutError:
            raise Permanent(f"reading the file took longer than {EXTRACT_SECONDS:g} s") from None
        except ExtractionError as exc:
            raise Permanent(str(exc)) from None
        except Exception as exc:  # a crash of the worker process on a hostile file
            raise Permanent(f"the file cannot be read: {type(exc).__name__}") from None
        await beat()
        await self.stage(doc, "chunking", 20)
        embedder = self.embedder(doc.scope)
        # Chunks leave room for their context within what the model reads.
        room = embedder.info.max_tokens - CONTEXT_TOKENS
        size = max(self.overlap + 1, min(self.chunk_tokens, room))
        pieces = await anyio.to_thread.run_sync(
            lambda: chunk(extracted.blocks, embedder.tokenizer, size=size, overlap=self.overlap)
        )
        if not pieces:
            raise Permanent("the file holds no text")
        document_id = str(doc.id)
        records = [
            ChunkRecord(
                document_id=document_id,
                owner_id=doc.owner_id,
                scope=doc.scope,
                area_id=doc.area_id,
                index=piece.index,
                text=piece.text,
                start=piece.start,
                end=piece.end,
                page=piece.page or 0,
                headings=list(piece.headings),
            )
            for piece in pieces
        ]
        with self.stores.mongo.breaker.guard():
            await ChunkRecord.insert_many(records)
        collection = await self.collection(doc.scope)
        context = (doc.title, lead(doc.description, records[0].text))
        await self.stage(doc, "embedding", 25)
        for start in range(0, len(records), EMBED_BATCH):
            batch = records[start : start + EMBED_BATCH]
            await self.index(collection, embedder, context, batch)
            done = start + len(batch)
            await beat()
            await self.stage(
                doc,
                "embedding" if done < len(pieces) else "indexing",
                25 + 70 * done // len(pieces),
            )
        doc.pages, doc.chunk_count, doc.collection = extracted.pages, len(pieces), collection
        await self.stage(doc, "ready", 100)

    async def index(
        self,
        collection: str,
        embedder: TextEmbedder,
        context: tuple[str, str],
        chunks: list[ChunkRecord],
    ) -> None:
        """Embed chunks (ingestion lane) in their context, the document's title and lead,
        and write their vectors, keyword vectors and payload; the payload keeps the
        passage as it is."""
        title, about = context
        headers = [header(title, about, c.headings, c.page) for c in chunks]
        texts = await anyio.to_thread.run_sync(
            indexed_texts,
            embedder.tokenizer,
            embedder.info.max_tokens,
            headers,
            [c.text for c in chunks],
        )
        embedded = await embedder.embed(texts, lane="ingest")
        encode = self.retrieval.keywords.document
        # Keywords have no token limit: they take the whole header.
        keywords = await anyio.to_thread.run_sync(
            lambda: [encode(f"{h}\n\n{c.text}") for h, c in zip(headers, chunks, strict=True)]
        )
        points = [
            Point(
                point_id(c.document_id, c.index),
                vector.tolist(),
                {
                    "owner_id": c.owner_id,
                    "area_id": c.area_id,
                    "scope": c.scope,
                    "document_id": c.document_id,
                    "chunk_index": c.index,
                    "page": c.page,
                    "text": c.text,
                },
                sparse,
            )
            for c, sparse, vector in zip(chunks, keywords, embedded.vectors, strict=True)
        ]
        await self.stores.vectors.store.upsert(collection, points)

    async def reindex(self, scope: str) -> tuple[str, int]:
        """Rebuild `scope`'s index with its configured model, then switch the alias to it.

        The old collection serves searches until the switch and is kept after
        it; documents that changed meanwhile are indexed again after.
        """
        store = self.stores.vectors.store
        embedder = self.embedder(scope)
        base = self.base_collection(scope)
        current = await store.resolve(scope)
        target = f"{base}__v{int(time.time())}" if current.startswith(base) else base
        if target in await store.collections():
            await store.delete_collection(target)
        await store.create_collection(target, embedder.info.dimension)
        started = time.time()
        count = await self._index_scope(target, embedder, scope, since=0.0)
        await store.point_alias(scope, target)
        count += await self._index_scope(target, embedder, scope, since=started)
        return target, count

    async def _index_scope(
        self, target: str, embedder: TextEmbedder, scope: str, since: float
    ) -> int:
        count = 0
        with self.stores.mongo.breaker.guard():
            docs = await StoredDocument.find(
                StoredDocument.scope == scope,
                StoredDocument.status == "ready",
                StoredDocument.updated_at >= since,
            ).to_list()
        for doc in docs:
            with self.stores.mongo.breaker.guard():
                chunks = (
                    await ChunkRecord.find(ChunkRecord.document_id == str(doc.id))
                    .sort("index")
                    .to_list()
                )
            context = (doc.title, lead(doc.description, chunks[0].text if chunks else ""))
            for start in range(0, len(chunks), EMBED_BATCH):
                await self.index(target, embedder, context, chunks[start : start + EMBED_BATCH])
            doc.collection = target
            with self.stores.mongo.breaker.guard():
                await doc.save()
            count += 1
        return count

    async def fail(self, document_id: str, error: str) -> None:
        with self.stores.mongo.breaker.guard():
            doc = await StoredDocument.get(document_id)
        if doc is not None:
            await self.forget(doc)
            doc.chunk_count = 0
            await self.stage(doc, "failed", 100, error)


class IngestWorkers(Service):
    """A pool of workers taking ingestion jobs from the durable queue."""

    def __init__(self, ingestion: Ingestion, *, workers: int = 0, poll: float = 0.5) -> None:
        super().__init__("ingest")
        self.ingestion = ingestion
        self.workers = workers or max(2, os.cpu_count() or 2)
        self.poll = poll
        self._wake = anyio.Event()

    def notify(self) -> None:
        """A job was enqueued: idle workers look at once instead of at the next poll."""
        self._wake.set()

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._warm)
            tg.start_soon(self._check_keywords)
            tg.start_soon(self._rescue_loop)
            for number in range(self.workers):
                tg.start_soon(self._work, f"{os.getpid()}-{uuid.uuid4().hex[:6]}-{number}")
            task_status.started()
            await stop.wait()
            tg.cancel_scope.cancel()

    async def _warm(self) -> None:
        """Start an extraction process now: its first start imports the app (seconds)."""
        try:
            await anyio.to_process.run_sync(extract_in_worker, b"warm", "text/plain")
        except Exception:  # a broken worker shows again, with its document, later
            logger.warning("could not start an extraction process", exc_info=True)

    async def _check_keywords(self) -> None:
        """Say so when a scope's index predates keyword vectors: rebuilding it re-embeds
        every document, which an administrator starts when it suits (no downtime)."""
        try:
            store = self.ingestion.stores.vectors.store
            for scope in ("personal", "shared"):
                current = await store.resolve(scope)
                if current != scope and not await store.has_keywords(current):
                    logger.warning(
                        "this index has no keyword vectors: sparse and hybrid searches answer"
                        f" by embeddings alone until `aiss reindex --scope {scope}`",
                        extra={"scope": scope, "collection": current},
                    )
        except AissError:  # the store is away: its own health check says so
            pass
        except Exception:  # a check: whatever it meets, ingestion goes on
            logger.warning("could not check the index for keyword vectors", exc_info=True)

    async def rescue(self) -> int:
        """Queue again the documents an upload left without a job (its store went away
        between the record and the job, and the record could not be taken back)."""
        jobs = self.ingestion.stores.jobs
        mongo = self.ingestion.stores.mongo
        before = time.time() - STRANDED_SECONDS
        with mongo.breaker.guard():
            stranded = (
                await StoredDocument.find(
                    StoredDocument.status == "queued", StoredDocument.updated_at < before
                )
                .limit(100)
                .to_list()
            )
        rescued = 0
        for doc in stranded:
            waiting = {"kind": KIND, "payload.document_id": str(doc.id)}
            with mongo.breaker.guard():
                if await mongo.collection("jobs").count_documents(waiting, limit=1):
                    continue
            await jobs.enqueue(KIND, {"document_id": str(doc.id)})
            logger.warning("document %s had no ingestion job; queued it", doc.id)
            rescued += 1
        if rescued:
            self.notify()
        return rescued

    async def _rescue_loop(self) -> None:
        while True:
            await anyio.sleep(RESCUE_SECONDS)
            try:
                await self.rescue()
            except AissError as exc:
                logger.warning("could not look for stranded documents: %s", exc.message)

    async def _work(self, worker: str) -> None:
        jobs = self.ingestion.stores.jobs
        while True:
            try:
                lease = await jobs.lease(worker, [KIND])
            except AissError:
                lease = None
            if lease is None:
                with anyio.move_on_after(self.poll):
                    if self._wake.is_set():
                        self._wake = anyio.Event()
                    await self._wake.wait()
                continue
            try:
                await self._handle(lease)
            except AissError as exc:
                # The queue's own store went away while recording the outcome: the
                # lease runs out and the job is taken again once it is back.
                logger.warning("ingestion job %s left to its lease: %s", lease.job_id, exc.message)
                await anyio.sleep(self.poll)

    async def _handle(self, lease: Lease) -> None:
        jobs = self.ingestion.stores.jobs
        document_id = str(lease.payload["document_id"])
        current = lease

        async def beat() -> None:
            nonlocal current
            current = await jobs.heartbeat(current)

        try:
            await self.ingestion.run(document_id, beat)
            await jobs.complete(current)
        except LeaseLost:
            logger.warning("lost the lease on %s; another worker has it", document_id)
        except Permanent as exc:
            await self.ingestion.fail(document_id, str(exc))
            await jobs.complete(current)
        except (ServiceUnavailable, Timeout, TooManyRequests, OSError) as exc:
            state = await jobs.fail(current, f"{type(exc).__name__}: {exc}")
            if state == "dead":
                await self.ingestion.fail(document_id, "ingestion kept failing; gave up")
        except Exception as exc:
            logger.exception("ingestion of %s failed", document_id)
            state = await jobs.fail(current, f"{type(exc).__name__}: {exc}")
            if state == "dead":
                await self.ingestion.fail(document_id, "ingestion kept failing; gave up")
