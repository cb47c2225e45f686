"""Questions over the knowledge under /api/v1/rag: answers with numbered sources, history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from beanie import PydanticObjectId
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..api import Paging, endpoint
from ..errors import NotFound, error_response
from ..rag import prompt
from ..rag.answer import Question
from ..state import app_state, served
from ..storage.models import RagQuery
from ..users.views import iso

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

    from ..rag.answer import Answerer, Outcome
    from ..users.views import Principal

API = "/api/v1/rag"


class RagIn(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    area_ids: list[str] | None = Field(
        default=None,
        max_length=100,
        description="only these areas (and no personal documents); empty or absent: all",
    )
    include_personal: bool = True
    max_sources: int = Field(default=5, ge=1, le=20)
    provider_id: str | None = Field(default=None, max_length=64)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    hybrid: bool = Field(default=False, description="fuse keyword (BM25) with vector ranking")


class Source(BaseModel):
    n: int
    document_id: str
    title: str
    chunk_index: int
    page: int | None
    snippet: str
    score: float
    link: str | None = Field(
        default=None, description="where the passage came from (a terminal recording at its time)"
    )


class RagOut(BaseModel):
    answer: str
    sources: list[Source]
    mode: str
    provider: str | None
    model: str | None
    usage: dict[str, int]
    first_token_ms: float | None
    processing_time_ms: float
    query_id: str


class HistoryItem(BaseModel):
    id: str
    question: str
    answer: str
    sources: list[Source]
    mode: str
    provider: str | None
    model: str | None
    error: str | None
    usage: dict[str, int]
    retrieval_ms: float
    first_token_ms: float | None
    total_ms: float
    created_at: datetime

    @classmethod
    def of(cls, q: RagQuery) -> HistoryItem:
        return cls(
            id=str(q.id),
            question=q.question,
            answer=q.answer,
            sources=[Source(**s) for s in q.sources],
            mode=q.mode,
            provider=q.provider or None,
            model=q.model or None,
            error=q.error or None,
            usage=q.usage,
            retrieval_ms=q.retrieval_ms,
            first_token_ms=q.first_token_ms,
            total_ms=q.total_ms,
            created_at=iso(q.created_at),
        )


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    total: int
    offset: int
    limit: int


def answerer(request: Request) -> Answerer:
    return served(app_state(request).rag, "questions")


def _result(outcome: Outcome) -> RagOut:
    return RagOut(
        answer=outcome.answer,
        sources=[Source(**public) for public in prompt.public(outcome.sources)],
        mode=outcome.mode,
        provider=outcome.provider,
        model=outcome.model,
        usage=vars(outcome.usage) if outcome.mode == "llm" else {},
        first_token_ms=_round(outcome.first_token_ms),
        processing_time_ms=round(outcome.total_ms, 2),
        query_id=outcome.query_id,
    )


def _done(outcome: Outcome) -> dict[str, Any]:
    result = _result(outcome).model_dump(mode="json")
    return {k: v for k, v in result.items() if k not in ("answer", "sources")}


def _round(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 2)


@endpoint(
    body=RagIn, responses={200: RagOut}, errors=[404, 429, 502, 503], auth="user", tags=["rag"]
)
async def query(request: Request, body: RagIn, principal: Principal) -> Response:
    """Answer a question from the documents you may read, citing them as [n].

    With `Accept: text/event-stream` the answer streams as server-sent events:
    `sources` first, then `token` events, then `done` (or `error`). Failures
    before any output (a cap reached, a store down) are plain HTTP errors.
    """
    question = Question(
        body.question,
        body.area_ids,
        body.include_personal,
        body.max_sources,
        body.provider_id,
        body.temperature,
        body.max_tokens,
        body.hybrid,
    )
    answer = await answerer(request).prepare(principal, question)
    if "text/event-stream" not in request.headers.get("accept", ""):
        async for kind, payload in answer.events():
            if kind == "error":
                raise payload
        return JSONResponse(_result(answer.outcome).model_dump(mode="json"))

    async def stream() -> AsyncIterator[str]:
        async for kind, payload in answer.events():
            if kind == "done":
                data: Any = _done(payload)
            elif kind == "error":
                data = {**error_response(payload).body, "query_id": answer.outcome.query_id}
            else:
                data = payload if kind == "sources" else {"text": payload}
            yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@endpoint(query=Paging, responses={200: HistoryPage}, auth="user", tags=["rag"])
async def history(request: Request, query: Paging, principal: Principal) -> HistoryPage:
    """Your questions and answers, newest first (administrators: everyone's)."""
    found = (
        RagQuery.find_all()
        if principal.is_admin
        else RagQuery.find(RagQuery.user_id == principal.user_id)
    )
    total = await found.count()
    items = await found.sort("-created_at").skip(query.offset).limit(query.limit).to_list()
    return HistoryPage(
        items=[HistoryItem.of(q) for q in items],
        total=total,
        offset=query.offset,
        limit=query.limit,
    )


@endpoint(responses={200: HistoryItem}, errors=[404], auth="user", tags=["rag"])
async def history_item(request: Request, principal: Principal) -> HistoryItem:
    """One of your past questions."""
    query_id = str(request.path_params["query_id"])
    item = (
        await RagQuery.get(PydanticObjectId(query_id))
        if PydanticObjectId.is_valid(query_id)
        else None
    )
    if item is None or not (principal.is_admin or item.user_id == principal.user_id):
        raise NotFound("no such query")
    return HistoryItem.of(item)


def routes() -> list[Route]:
    return [
        Route(f"{API}/query", query, methods=["POST"]),
        Route(f"{API}/history", history, methods=["GET"]),
        Route(f"{API}/history/{{query_id}}", history_item, methods=["GET"]),
    ]
