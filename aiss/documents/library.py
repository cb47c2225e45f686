"""The documents concern as routes see it: upload, read, change, delete, search."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
import unicodedata
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

import anyio.to_thread
from beanie import PydanticObjectId
from bson.errors import InvalidId

from ..errors import AissError, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from ..storage.models import Area, ChunkRecord, StoredDocument
from ..storage.vectors import Query, VectorFilter, collection_name
from . import sniff
from .access import PERSONAL_AREA, can_change, can_read, can_write_area, readable_areas
from .events import DocumentEvent
from .knowledge import Stored
from .pipeline import KIND
from .retrieval import QUERY_CHARS, cap, collapse, merge_adjacent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ..embedding.service import TextEmbedder
    from ..embedding.tree import Embeddings
    from ..storage.stores import Stores
    from ..storage.vectors import SearchMode
    from ..users.views import Principal
    from .events import EventBus
    from .pipeline import IngestWorkers

READ_CHUNK = 1024 * 1024
logger = logging.getLogger("aiss.documents")


def safe_filename(name: str) -> str:
    """A name fit for storage keys and Content-Disposition: no paths, controls or quotes."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C" and c not in '"<>|*?:')
    base = re.sub(r"\s+", " ", base).strip(" .")
    return base[:200] or "document"


@dataclass(frozen=True)
class Upload:
    title: str
    description: str
    tags: list[str]
    scope: str
    area_id: str
    link: str = ""


CITED_SECONDS = 5.0
CITED_CACHE = 20_000


@dataclass(frozen=True)
class Cited:
    """What a search hit needs of its document: read without building the whole record."""

    id: str
    title: str
    owner_id: str
    scope: str
    area_id: str
    tags: tuple[str, ...]
    link: str = ""

    FIELDS: ClassVar[dict[str, int]] = {
        "link": 1,
        "title": 1,
        "owner_id": 1,
        "scope": 1,
        "area_id": 1,
        "tags": 1,
        "status": 1,
    }


@dataclass(frozen=True)
class Hit:
    document: Cited
    chunk_index: int
    text: str
    score: float
    page: int
    chunks: tuple[int, ...] = ()  # the chunks a merged passage joins; () for one chunk
    also_in: tuple[tuple[str, str], ...] = ()  # (id, title) of documents repeating it


class Library:
    def __init__(
        self, stores: Stores, embeddings: Embeddings, bus: EventBus, workers: IngestWorkers
    ) -> None:
        self.stores = stores
        self.embeddings = embeddings
        self.bus = bus
        self.workers = workers
        self._cache: dict[str, tuple[float, Cited]] = {}

    # -- upload ------------------------------------------------------------------

    async def upload(
        self, principal: Principal, meta: Upload, file: BinaryIO, filename: str
    ) -> tuple[StoredDocument, bool]:
        """Store the file and queue its ingestion; the same bytes again return the first."""
        if meta.scope == "shared":
            if not can_write_area(principal, meta.area_id):
                raise Forbidden(f"you may not write to area {meta.area_id!r}")
            await self._active_area(meta.area_id)
        head = await anyio.to_thread.run_sync(file.read, 65536)
        file.seek(0)
        media_type = sniff.sniff(head, filename, _whole(file) if head.startswith(b"PK") else head)
        name = safe_filename(filename)
        # The key holds no user input: names are for people (and the record keeps it).
        key = f"documents/{principal.user_id}/{uuid.uuid4().hex}"
        digest = hashlib.sha256()

        async def body() -> AsyncIterator[bytes]:
            while chunk := await anyio.to_thread.run_sync(file.read, READ_CHUNK):
                digest.update(chunk)
                yield chunk

        size = await self.stores.objects.put(key, body(), content_type=media_type)
        doc: StoredDocument | None = None
        try:
            sha256 = digest.hexdigest()
            with self.stores.mongo.breaker.guard():
                existing = await StoredDocument.find_one(
                    StoredDocument.owner_id == principal.user_id,
                    StoredDocument.sha256 == sha256,
                    StoredDocument.scope == meta.scope,
                    StoredDocument.area_id == meta.area_id,
                )
            if existing is not None and existing.status != "failed":
                await self.stores.objects.delete(key)
                return existing, True
            doc = StoredDocument(
                owner_id=principal.user_id,
                scope=meta.scope,
                area_id=meta.area_id,
                title=meta.title or name,
                description=meta.description,
                tags=meta.tags,
                filename=name,
                media_type=media_type,
                size=size,
                sha256=sha256,
                blob_key=key,
                link=meta.link,
            )
            with self.stores.mongo.breaker.guard():
                await doc.insert()
            await self.stores.jobs.enqueue(KIND, {"document_id": str(doc.id)})
        except BaseException:
            # Nothing half-written: no record without a job, no blob without a record.
            with anyio.CancelScope(shield=True):
                await self._undo(doc, key)
            raise
        self.workers.notify()
        self.bus.publish(
            DocumentEvent(str(doc.id), doc.owner_id, doc.scope, doc.area_id, "queued", 0)
        )
        return doc, False

    async def _undo(self, doc: StoredDocument | None, key: str) -> None:
        """Take back a failed upload; what cannot be taken back now is logged.

        A record that cannot be deleted keeps its blob: the workers queue it
        again later (`IngestWorkers.rescue`).
        """
        try:
            if doc is not None and doc.id is not None:
                with self.stores.mongo.breaker.guard():
                    await doc.delete()
            await self.stores.objects.delete(key)
        except AissError as exc:
            logger.warning(
                "a failed upload left %s behind: %s", key, exc.message, extra={"key": key}
            )

    async def store(
        self, principal: Principal, meta: Upload, content: bytes, filename: str
    ) -> Stored:
        doc, existed = await self.upload(principal, meta, io.BytesIO(content), filename)
        return Stored(str(doc.id), doc.status, existed)

    async def _active_area(self, area_id: str) -> None:
        area = None
        if PydanticObjectId.is_valid(area_id):
            with self.stores.mongo.breaker.guard():
                area = await Area.get(PydanticObjectId(area_id))
        if area is None or not area.active:
            raise ValidationFailed(f"no active area {area_id!r}", [{"loc": ["area_id"]}])

    # -- reading -------------------------------------------------------------------

    async def get(self, principal: Principal, document_id: str) -> StoredDocument:
        """The document, or NotFound: one the caller may not read does not exist for them."""
        try:
            key = PydanticObjectId(document_id)
        except (InvalidId, TypeError):
            raise NotFound("no such document") from None
        with self.stores.mongo.breaker.guard():
            doc = await StoredDocument.get(key)
        if doc is None or not can_read(principal, doc):
            raise NotFound("no such document")
        return doc

    def visible(
        self, principal: Principal, scope: str | None, area_id: str | None
    ) -> dict[str, Any]:
        """The MongoDB filter of the documents `principal` may read."""
        mine: dict[str, Any] = {"scope": "personal", "owner_id": principal.user_id}
        nothing: dict[str, Any] = {"scope": "no such scope"}
        if scope == "personal":
            return mine
        areas = readable_areas(principal)
        shared: dict[str, Any] = {"scope": "shared"}
        if area_id:
            if areas is not None and area_id not in areas:
                return nothing
            shared["area_id"] = area_id
        elif areas is not None:
            if not areas:
                return nothing if scope == "shared" else mine
            shared["area_id"] = {"$in": sorted(areas)}
        if scope == "shared" or area_id:
            return shared
        return {"$or": [mine, shared]}

    async def find(
        self,
        principal: Principal,
        *,
        scope: str | None,
        area_id: str | None,
        tag: str | None,
        status: str | None,
        title: str | None,
        offset: int,
        limit: int,
    ) -> tuple[list[StoredDocument], int]:
        query = self.visible(principal, scope, area_id)
        if tag:
            query = {"$and": [query, {"tags": tag}]}
        if status:
            query = {"$and": [query, {"status": status}]}
        with self.stores.mongo.breaker.guard():
            found = StoredDocument.find(query)
            docs = await found.sort("-created_at").to_list()
        if title:
            # Title search in Python: the embedded server's regex support is limited.
            needle = title.lower()
            docs = [d for d in docs if needle in d.title.lower()]
        return docs[offset : offset + limit], len(docs)

    async def chunks(
        self, principal: Principal, document_id: str, offset: int, limit: int
    ) -> tuple[list[ChunkRecord], int]:
        doc = await self.get(principal, document_id)
        with self.stores.mongo.breaker.guard():
            found = ChunkRecord.find(ChunkRecord.document_id == str(doc.id))
            total = await found.count()
            items = await found.sort("index").skip(offset).limit(limit).to_list()
        return items, total

    # -- changing --------------------------------------------------------------------

    async def update(
        self, principal: Principal, document_id: str, changes: dict[str, Any]
    ) -> StoredDocument:
        doc = await self.get(principal, document_id)
        if not can_change(principal, doc):
            raise Forbidden("you may read this document but not change it")
        for field, value in changes.items():
            setattr(doc, field, value)
        doc.updated_at = time.time()
        with self.stores.mongo.breaker.guard():
            await doc.save()
        self._cache.pop(str(doc.id), None)
        return doc

    async def delete(self, principal: Principal, document_id: str) -> None:
        doc = await self.get(principal, document_id)
        if not can_change(principal, doc):
            raise Forbidden("you may read this document but not delete it")
        self._cache.pop(str(doc.id), None)
        await self.workers.ingestion.forget(doc)
        await self.stores.objects.delete(doc.blob_key)
        with self.stores.mongo.breaker.guard():
            await doc.delete()

    # -- search ------------------------------------------------------------------------

    async def search(
        self,
        principal: Principal,
        query: str,
        *,
        scope: str | None,
        area_ids: list[str] | None,
        tags: list[str] | None,
        limit: int,
        mode: SearchMode | None = None,
        per_document: int | None = None,
        merge: bool = False,
    ) -> list[Hit]:
        """The best passages among what `principal` may read, best first.

        Near-duplicates are collapsed; `per_document` caps the passages of one
        document, and `merge` joins adjacent chunks of one document into one.
        The query's first QUERY_CHARS characters are searched.
        """
        query = query[:QUERY_CHARS]
        retrieval = self.workers.ingestion.retrieval
        mode = mode or retrieval.mode
        store = self.stores.vectors.store
        # Shaping drops passages: ask for more, so that `limit` remain.
        pool = limit * (3 if per_document or merge else 2)
        wanted = 4 * pool if tags else pool
        plans = self._plans(principal, scope, area_ids)
        keywords = retrieval.keywords.query(query) if mode != "dense" else None
        if mode == "sparse" and not keywords:
            return []  # no term to look for
        vectors: dict[int, list[float]] = {}  # one embedding per model, not per scope
        searches: list[tuple[str, Query, VectorFilter]] = []
        for collection, flt in plans:
            resolved = await store.resolve(collection)
            if resolved == collection:
                continue  # nothing was ever indexed in this scope
            vector = None
            if mode != "sparse":
                embedder = self._embedder_for(collection, resolved)
                if id(embedder) not in vectors:
                    embedded = await embedder.embed([query], lane="query", query=True)
                    vectors[id(embedder)] = embedded.vectors[0].tolist()
                vector = vectors[id(embedder)]
            searches.append((collection, Query(vector, keywords, retrieval.fusion), flt))
        hits: list[tuple[float, dict[str, Any]]] = []

        async def one(collection: str, q: Query, flt: VectorFilter) -> None:
            for hit in await store.search(collection, q, limit=wanted, filter=flt):
                hits.append((hit.score, hit.payload))

        # Personal and shared knowledge are searched at the same time.
        async with anyio.create_task_group() as tg:
            for search in searches:
                tg.start_soon(one, *search)
        hits.sort(key=lambda h: h[0], reverse=True)
        ids = {payload["document_id"] for _, payload in hits}
        docs = await self._cited(ids)
        results = []
        for score, payload in hits:
            doc = docs.get(payload["document_id"])
            if doc is None or not can_read(principal, doc):
                continue
            if tags and not set(tags) & set(doc.tags):
                continue
            results.append(
                Hit(
                    doc,
                    int(payload["chunk_index"]),
                    str(payload["text"]),
                    score,
                    int(payload.get("page", 0)),
                )
            )
        # Shaped results need the whole pool; plain ones only the first `limit`.
        enough = None if per_document or merge else limit
        # Off the event loop: hundreds of passages of a few KiB each are compared.
        results = await anyio.to_thread.run_sync(collapse, results, enough)
        if per_document:
            results = cap(results, per_document)
        if merge:
            results = merge_adjacent(results)
        return results[:limit]

    def _plans(
        self, principal: Principal, scope: str | None, area_ids: list[str] | None
    ) -> list[tuple[str, VectorFilter]]:
        """The collections to search, each with what `principal` may read of it.

        `area_ids` names the only areas to search; `personal` among them stands
        for the caller's personal documents, which are otherwise left out.
        """
        plans: list[tuple[str, VectorFilter]] = []
        named = set(area_ids or ())
        personal = PERSONAL_AREA in named
        named.discard(PERSONAL_AREA)
        if scope in (None, "personal") and (not area_ids or personal):
            plans.append(
                ("personal", VectorFilter(all={"owner_id": principal.user_id, "scope": "personal"}))
            )
        if scope in (None, "shared") and (not area_ids or named):
            areas = readable_areas(principal)
            chosen = named if area_ids else areas
            if areas is not None and chosen is not None:
                chosen &= areas
            if chosen is None:
                plans.append(("shared", VectorFilter(all={"scope": "shared"})))
            elif chosen:
                plans.append(
                    (
                        "shared",
                        VectorFilter(all={"scope": "shared", "area_id": tuple(sorted(chosen))}),
                    )
                )
        return plans

    async def _cited(self, ids: set[str]) -> dict[str, Cited]:
        """The ready documents among `ids`, from a short-lived cache or MongoDB.

        Who may read a document never changes after upload; a title or tags
        changed by another process show after CITED_SECONDS at most.
        """
        now = time.monotonic()
        docs: dict[str, Cited] = {}
        missing = []
        for i in ids:
            cached = self._cache.get(i)
            if cached and cached[0] > now:
                docs[i] = cached[1]
            elif PydanticObjectId.is_valid(i):
                missing.append(PydanticObjectId(i))
        if not missing:
            return docs
        if len(self._cache) > CITED_CACHE:
            self._cache.clear()
        # Plain fields of ready documents: validating whole records costs more
        # than the vector search itself.
        with self.stores.mongo.breaker.guard():
            found = self.stores.mongo.collection("documents").find(
                {"_id": {"$in": missing}, "status": "ready"}, Cited.FIELDS
            )
            for d in await found.to_list(None):
                cited = Cited(
                    str(d["_id"]),
                    d["title"],
                    d["owner_id"],
                    d["scope"],
                    d.get("area_id", ""),
                    tuple(d.get("tags", ())),
                    d.get("link", ""),
                )
                docs[cited.id] = cited
                self._cache[cited.id] = (now + CITED_SECONDS, cited)
        return docs

    def _embedder_for(self, scope: str, collection: str) -> TextEmbedder:
        """The loaded model that built `collection`: queries must be embedded by it."""
        for embedder in self.embeddings.services():
            if collection.startswith(
                collection_name(scope, embedder.info.name, embedder.info.dimension)
            ):
                return embedder
        raise ServiceUnavailable(
            f"the {scope} index was built with a model this server does not load;"
            f" rebuild it with `aiss reindex --scope {scope}` or POST /api/v1/admin/reindex"
        )


def _whole(file: BinaryIO) -> bytes:
    data = file.read()
    file.seek(0)
    return data


def check_tags(tags: list[str]) -> list[str]:
    cleaned = sorted({t.strip() for t in tags if t.strip()})
    if len(cleaned) > 20 or any(len(t) > 50 for t in cleaned):
        raise ValidationFailed("at most 20 tags of at most 50 characters", [{"loc": ["tags"]}])
    return cleaned
