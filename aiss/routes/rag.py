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
from ..errors import AissError, NotFound, error_response
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
    area_ids: list[str] | None = Field(default=None, max_length=100)
    include_personal: bool = True
    max_sources: int = Field(default=5, ge=1, le=20)
    provider_id: str | None = Field(default=None, max_length=64)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)


class Source(BaseModel):
    n: int
    document_id: str
    title: str
    chunk_index: int
    page: int | None
    snippet: str
    score: float


class RagOut(BaseModel):
    answer: str
    sources: list[Source]
    mode: str
    provider: str | None
    model: str | None
    usage: dict[str, int]
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
    retrieval_ms: float
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
            retrieval_ms=q.retrieval_ms,
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
        sources=[Source(**s) for s in outcome.sources],
        mode=outcome.mode,
        provider=None,
        model=None,
        usage={},
        processing_time_ms=round(outcome.total_ms, 2),
        query_id=outcome.query_id,
    )


@endpoint(body=RagIn, responses={200: RagOut}, errors=[429, 503], auth="user", tags=["rag"])
async def query(request: Request, body: RagIn, principal: Principal) -> Response:
    """Answer a question from the documents you may read, citing them as [n].

    With `Accept: text/event-stream` the answer streams as server-sent events:
    `sources` first, then `token` events, then `done` (or `error`).
    """
    question = Question(body.question, body.area_ids, body.include_personal, body.max_sources)
    events = answerer(request).answer(principal, question)
    if "text/event-stream" not in request.headers.get("accept", ""):
        outcome: Outcome | None = None
        async for kind, payload in events:
            if kind == "done":
                outcome = payload
        assert outcome is not None
        return JSONResponse(_result(outcome).model_dump(mode="json"))

    async def stream() -> AsyncIterator[str]:
        try:
            async for kind, payload in events:
                if kind == "done":
                    data: Any = {
                        "usage": {},
                        "processing_time_ms": round(payload.total_ms, 2),
                        "query_id": payload.query_id,
                        "mode": payload.mode,
                    }
                else:
                    data = payload if kind == "sources" else {"text": payload}
                yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"
        except AissError as exc:
            yield f"event: error\ndata: {json.dumps(error_response(exc).body)}\n\n"

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
