"""Documents, their progress events and semantic search under /api/v1."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote

import anyio
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from ..api import EventStream, Paging, endpoint
from ..documents.access import can_read
from ..documents.events import STAGES
from ..documents.library import Upload, check_tags
from ..documents.retrieval import QUERY_CHARS
from ..errors import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from ..state import app_state, served
from ..storage.vectors import SearchMode
from ..users.views import iso

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import Message

    from ..documents.library import Library
    from ..storage.models import ChunkRecord, StoredDocument
    from ..users.views import Principal

API = "/api/v1"
KEEP_ALIVE = 15.0
Scope = Literal["personal", "shared"]


class UploadFields(BaseModel):
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=2000)
    tags: str = Field(default="", max_length=1100, description="comma-separated")
    scope: Scope = "personal"
    area_id: str = Field(default="", max_length=128)


class UploadForm(UploadFields):
    """The multipart body of an upload, as documented; the handler reads it itself."""

    file: bytes = Field(
        description="the document; its type is read from its content",
        json_schema_extra={"contentMediaType": "application/octet-stream"},
    )


class DocumentProgress(BaseModel):
    """A step of a document's ingestion."""

    document_id: str
    stage: str = Field(json_schema_extra={"enum": list(STAGES)})
    percent: int = Field(ge=0, le=100)
    error: str = Field(description="why it failed; empty unless the stage is failed")


PROGRESS = EventStream(
    events={"document": (DocumentProgress, "a document you may read moved on")},
    description="Server-sent events for as long as the client stays: a `: connected` comment"
    f" first, then the events, with a `: keep-alive` comment after {KEEP_ALIVE:g} quiet seconds.",
    example='event: document\ndata: {"document_id": "66f1c0ffee0123456789abcd",'
    ' "stage": "embedding", "percent": 60, "error": ""}\n\n',
)


class Accepted(BaseModel):
    id: str
    status: str
    duplicate: bool


class DocumentView(BaseModel):
    id: str
    title: str
    description: str
    tags: list[str]
    scope: Scope
    area_id: str | None
    owner_id: str
    filename: str
    media_type: str
    size: int
    sha256: str
    status: str
    percent: int
    error: str | None
    pages: int
    chunk_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, doc: StoredDocument) -> DocumentView:
        return cls(
            id=str(doc.id),
            title=doc.title,
            description=doc.description,
            tags=doc.tags,
            scope=doc.scope,
            area_id=doc.area_id or None,
            owner_id=doc.owner_id,
            filename=doc.filename,
            media_type=doc.media_type,
            size=doc.size,
            sha256=doc.sha256,
            status=doc.status,
            percent=doc.percent,
            error=doc.error or None,
            pages=doc.pages,
            chunk_count=doc.chunk_count,
            created_at=iso(doc.created_at),
            updated_at=iso(doc.updated_at),
        )


class DocumentPage(BaseModel):
    items: list[DocumentView]
    total: int
    offset: int
    limit: int


class DocumentQuery(Paging):
    scope: Scope | None = None
    area_id: str | None = Field(default=None, max_length=128)
    tag: str | None = Field(default=None, max_length=50)
    status: str | None = Field(default=None, max_length=20)
    q: str | None = Field(default=None, max_length=200, description="words of the title")


class DocumentChange(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    tags: list[str] | None = Field(default=None, max_length=20)


class ChunkView(BaseModel):
    index: int
    text: str
    start: int
    end: int
    page: int | None
    headings: list[str]

    @classmethod
    def of(cls, chunk: ChunkRecord) -> ChunkView:
        return cls(
            index=chunk.index,
            text=chunk.text,
            start=chunk.start,
            end=chunk.end,
            page=chunk.page or None,
            headings=chunk.headings,
        )


class ChunkPage(BaseModel):
    items: list[ChunkView]
    total: int
    offset: int
    limit: int


class SearchIn(BaseModel):
    query: str = Field(min_length=1, max_length=QUERY_CHARS)
    scope: Scope | None = None
    area_ids: list[str] | None = Field(
        default=None,
        max_length=100,
        description="only these areas (`personal` stands for your personal documents)",
    )
    tags: list[str] | None = Field(default=None, max_length=20)
    limit: int = Field(default=10, ge=1, le=50)
    mode: SearchMode | None = Field(
        default=None,
        description="dense (embeddings), sparse (keywords, BM25) or hybrid (both, fused);"
        " absent: the server's AISS_SEARCH_MODE",
    )
    per_document: int | None = Field(
        default=None, ge=1, le=50, description="at most this many passages of one document"
    )
    merge_adjacent: bool = Field(
        default=False, description="join adjacent chunks of one document into one passage"
    )


class DocumentRef(BaseModel):
    document_id: str
    title: str


class SearchHit(BaseModel):
    document_id: str
    title: str
    scope: Scope
    area_id: str | None
    owner_id: str
    tags: list[str]
    link: str | None
    chunk_index: int
    page: int | None
    text: str
    score: float = Field(
        description="dense: the cosine similarity; sparse: the keyword (BM25) score;"
        " hybrid: the fused score. Comparable within one answer only"
    )
    chunks: list[int] = Field(
        default_factory=list, description="the chunks a merged passage joins, in order"
    )
    also_in: list[DocumentRef] = Field(
        default_factory=list,
        description="other documents you may read that hold the same passage (collapsed)",
    )


class SearchOut(BaseModel):
    hits: list[SearchHit]


def library(request: Request) -> Library:
    return served(app_state(request).documents, "documents")


def _document_id(request: Request) -> str:
    return str(request.path_params["document_id"])


def _limited(request: Request, limit: int) -> Request:
    """The same request, whose body stops with 413 once it passes `limit` bytes."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise PayloadTooLarge(f"the upload is larger than {limit // (1024 * 1024)} MiB")
        return message

    return Request(request.scope, receive)


@endpoint(
    form=UploadForm,
    responses={202: Accepted},
    errors=[400, 403, 413, 415],
    auth="user",
    tags=["documents"],
)
async def upload(request: Request, principal: Principal) -> Response:
    """Upload a document (multipart: file, title, description, tags, scope, area_id).

    The type is read from the content; PDF, DOCX, HTML, Markdown, text, CSV and
    JSON are accepted. Ingestion runs in the background: follow it on /events.
    """
    settings = app_state(request).settings
    limit = settings.max_upload_bytes
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaType("send the document as multipart/form-data")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 1024 * 1024:
        raise PayloadTooLarge(f"the upload is larger than {limit // (1024 * 1024)} MiB")
    try:
        form = await _limited(request, limit + 1024 * 1024).form(
            max_files=1, max_fields=10, max_part_size=64 * 1024
        )
    except MultiPartException as exc:
        raise BadRequest(f"the multipart body cannot be read: {exc.message}") from None
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ValidationFailed("send the document in the `file` field", [{"loc": ["file"]}])
        if file.size is not None and file.size > limit:
            raise PayloadTooLarge(f"the upload is larger than {limit // (1024 * 1024)} MiB")
        if not file.size:
            raise ValidationFailed("the file is empty", [{"loc": ["file"]}])
        try:
            fields = UploadFields.model_validate(
                {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
            )
        except ValidationError as exc:
            details = exc.errors(include_url=False, include_context=False, include_input=False)
            raise ValidationFailed("the form does not match its schema", details) from None
        if fields.scope == "shared" and not fields.area_id:
            raise ValidationFailed("a shared document needs an area_id", [{"loc": ["area_id"]}])
        if fields.scope == "personal" and fields.area_id:
            raise ValidationFailed("a personal document has no area_id", [{"loc": ["area_id"]}])
        meta = Upload(
            title=fields.title.strip(),
            description=fields.description,
            tags=check_tags(fields.tags.split(",")),
            scope=fields.scope,
            area_id=fields.area_id,
        )
        doc, duplicate = await library(request).upload(
            principal, meta, file.file, file.filename or "document"
        )
    finally:
        await form.close()
    body = Accepted(id=str(doc.id), status=doc.status, duplicate=duplicate)
    return JSONResponse(body.model_dump(), status_code=202)


@endpoint(query=DocumentQuery, responses={200: DocumentPage}, auth="user", tags=["documents"])
async def list_documents(
    request: Request, query: DocumentQuery, principal: Principal
) -> DocumentPage:
    """Documents you may read, newest first, with filters and paging."""
    docs, total = await library(request).find(
        principal,
        scope=query.scope,
        area_id=query.area_id,
        tag=query.tag,
        status=query.status,
        title=query.q,
        offset=query.offset,
        limit=query.limit,
    )
    return DocumentPage(
        items=[DocumentView.of(d) for d in docs],
        total=total,
        offset=query.offset,
        limit=query.limit,
    )


@endpoint(responses={200: DocumentView}, errors=[404], auth="user", tags=["documents"])
async def get_document(request: Request, principal: Principal) -> DocumentView:
    """One document with its ingestion status."""
    return DocumentView.of(await library(request).get(principal, _document_id(request)))


@endpoint(
    body=DocumentChange,
    responses={200: DocumentView},
    errors=[403, 404],
    auth="user",
    tags=["documents"],
)
async def update_document(
    request: Request, body: DocumentChange, principal: Principal
) -> DocumentView:
    """Change a document's title, description or tags."""
    changes: dict[str, Any] = body.model_dump(exclude_none=True)
    if "tags" in changes:
        changes["tags"] = check_tags(changes["tags"])
    return DocumentView.of(await library(request).update(principal, _document_id(request), changes))


@endpoint(responses={204: None}, errors=[403, 404], auth="user", tags=["documents"])
async def delete_document(request: Request, principal: Principal) -> Response:
    """Delete a document with its chunks, vectors and stored file."""
    await library(request).delete(principal, _document_id(request))
    return Response(status_code=204)


@endpoint(
    responses={200: "application/octet-stream", 307: None},
    errors=[404],
    auth="user",
    tags=["documents"],
)
async def content(request: Request, principal: Principal) -> Response:
    """The original file, with its type; `?redirect=true` answers with a presigned URL instead."""
    lib = library(request)
    doc = await lib.get(principal, _document_id(request))
    if request.query_params.get("redirect") == "true":
        return RedirectResponse(await lib.stores.objects.presign_get(doc.blob_key, 300), 307)
    ascii_name = doc.filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(doc.filename)}"
    return StreamingResponse(
        lib.stores.objects.get(doc.blob_key),
        media_type=doc.media_type,
        headers={"Content-Disposition": disposition, "Content-Length": str(doc.size)},
    )


@endpoint(query=Paging, responses={200: ChunkPage}, errors=[404], auth="user", tags=["documents"])
async def chunks(request: Request, query: Paging, principal: Principal) -> ChunkPage:
    """A document's chunks, in order."""
    items, total = await library(request).chunks(
        principal, _document_id(request), query.offset, query.limit
    )
    return ChunkPage(
        items=[ChunkView.of(c) for c in items], total=total, offset=query.offset, limit=query.limit
    )


@endpoint(responses={200: PROGRESS}, auth="user", tags=["documents"])
async def events(request: Request, principal: Principal) -> Response:
    """Server-sent events of the documents you may read: `{document_id, stage, percent, error}`."""
    bus = library(request).bus

    async def stream() -> AsyncIterator[str]:
        async with bus.subscribe(lambda event: can_read(principal, event)) as received:
            yield ": connected\n\n"
            while True:
                with anyio.move_on_after(KEEP_ALIVE) as idle:
                    event = await received.receive()
                if idle.cancelled_caught:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: document\ndata: {json.dumps(event.public())}\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@endpoint(body=SearchIn, responses={200: SearchOut}, auth="user", tags=["documents"])
async def search(request: Request, body: SearchIn, principal: Principal) -> SearchOut:
    """The passages nearest a query among the documents you may read (no LLM)."""
    hits = await library(request).search(
        principal,
        body.query,
        scope=body.scope,
        area_ids=body.area_ids,
        tags=body.tags,
        limit=body.limit,
        mode=body.mode,
        per_document=body.per_document,
        merge=body.merge_adjacent,
    )
    return SearchOut(
        hits=[
            SearchHit(
                document_id=str(h.document.id),
                title=h.document.title,
                scope=cast("Scope", h.document.scope),
                area_id=h.document.area_id or None,
                owner_id=h.document.owner_id,
                tags=list(h.document.tags),
                link=h.document.link or None,
                chunk_index=h.chunk_index,
                page=h.page or None,
                text=h.text,
                score=h.score,
                chunks=list(h.chunks),
                also_in=[DocumentRef(document_id=i, title=t) for i, t in h.also_in],
            )
            for h in hits
        ]
    )


class ReindexIn(BaseModel):
    scope: Scope


class ReindexOut(BaseModel):
    scope: Scope
    collection: str
    documents: int


@endpoint(body=ReindexIn, responses={200: ReindexOut}, auth="admin", tags=["documents"])
async def reindex(request: Request, body: ReindexIn, principal: Principal) -> ReindexOut:
    """Rebuild a scope's vectors with its configured model, then switch searches to them.

    The old collection keeps serving until the switch. Administrators only.
    """
    collection, count = await library(request).workers.ingestion.reindex(body.scope)
    return ReindexOut(scope=body.scope, collection=collection, documents=count)


def routes() -> list[Route]:
    base = f"{API}/documents"
    return [
        Route(base, upload, methods=["POST"]),
        Route(base, list_documents, methods=["GET"]),
        Route(f"{base}/{{document_id}}", get_document, methods=["GET"]),
        Route(f"{base}/{{document_id}}", update_document, methods=["PATCH"]),
        Route(f"{base}/{{document_id}}", delete_document, methods=["DELETE"]),
        Route(f"{base}/{{document_id}}/content", content, methods=["GET"]),
        Route(f"{base}/{{document_id}}/chunks", chunks, methods=["GET"]),
        Route(f"{API}/events", events, methods=["GET"]),
        Route(f"{API}/search", search, methods=["POST"]),
        Route(f"{API}/admin/reindex", reindex, methods=["POST"]),
    ]
