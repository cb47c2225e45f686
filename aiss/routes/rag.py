"""Questions over the knowledge under /api/v1/rag: answers with numbered sources, history,
feedback; and the administrators' view of the feedback under /api/v1/admin/feedback."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from beanie import PydanticObjectId
from pydantic import AfterValidator, BaseModel, Field, RootModel
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..api import ErrorBody, EventStream, Paging, endpoint
from ..errors import NotFound, error_response
from ..rag import feedback, prompt
from ..rag.answer import QUESTION_CHARS, Question
from ..state import app_state, served
from ..storage.models import RagQuery
from ..storage.vectors import SEARCH_MODES, SearchMode
from ..users.views import iso

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

    from ..rag.answer import Answer, Answerer, Outcome
    from ..rag.followup import Turn
    from ..users.views import Principal

API = "/api/v1/rag"
EXCERPT = 300  # characters of an answer in the list of those rated down


def unicode_text(text: str) -> str:
    """Refuse a lone surrogate: valid JSON, but no text the stores or models take."""
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise ValueError(f"not valid Unicode ({exc.reason} at character {exc.start})") from None
    return text


Text = Annotated[str, AfterValidator(unicode_text)]


class AskOptions(BaseModel):
    """A question and how to answer it: what /rag/query and a conversation's messages take."""

    question: Text = Field(min_length=1, max_length=QUESTION_CHARS)
    max_sources: int = Field(default=5, ge=1, le=20)
    provider_id: str | None = Field(default=None, max_length=64)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    mode: SearchMode | None = Field(
        default=None,
        description=(
            "how passages are retrieved: dense (embedding nearest neighbours), sparse"
            " (keywords, BM25 with corpus-wide IDF) or hybrid (both, fused in the vector"
            " engine); absent: the server's default"
        ),
    )
    hybrid: bool = Field(
        default=False,
        description='deprecated: `true` means `mode: "hybrid"` (`mode` wins when both are given)',
        json_schema_extra={"deprecated": True},
    )

    def search_mode(self) -> SearchMode | None:
        return self.mode or ("hybrid" if self.hybrid else None)

    def asked(
        self,
        *,
        area_ids: list[str] | None,
        include_personal: bool,
        history: tuple[Turn, ...] = (),
        conversation_id: str = "",
    ) -> Question:
        return Question(
            self.question,
            area_ids=area_ids,
            include_personal=include_personal,
            max_sources=self.max_sources,
            provider_id=self.provider_id,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            mode=self.search_mode(),
            history=history,
            conversation_id=conversation_id,
        )


class RagIn(AskOptions):
    area_ids: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None,
        max_length=100,
        description="only these areas (`personal` stands for your personal documents);"
        " empty or absent: all you may read",
    )
    include_personal: bool = True


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


class AnswerDone(BaseModel):
    """How an answer was made: all of a JSON answer but its text and sources."""

    mode: str = Field(description="llm, or extractive: sentences of the sources, cited")
    provider: str | None
    model: str | None
    usage: dict[str, int]
    first_token_ms: float | None
    processing_time_ms: float
    query_id: str
    conversation_id: str | None = Field(default=None, description="the conversation's turn")
    standalone_question: str | None = Field(
        default=None, description="what was searched: a follow-up as the model rewrote it"
    )


class RagOut(AnswerDone):
    answer: str
    sources: list[Source]


class Sources(RootModel[list[Source]]):
    """The passages an answer may cite, numbered as its [n]."""


class AnswerText(BaseModel):
    text: str = Field(description="the next piece of the answer, to append")


class AnswerFailed(ErrorBody):
    """The answer failed after it began; what was written of it is kept under `query_id`."""

    query_id: str


ANSWER_EVENTS = EventStream(
    events={
        "sources": (Sources, "the passages retrieved, first"),
        "token": (AnswerText, "a piece of the answer, as it is written"),
        "done": (AnswerDone, "how the answer was made, once it is whole"),
        "error": (AnswerFailed, "why the answer failed, instead of done"),
    },
    description="With `Accept: text/event-stream`, server-sent events instead of JSON:",
    example='event: sources\ndata: [{"n": 1, "document_id": "66f1c0ffee0123456789abcd",'
    ' "title": "Guide", "chunk_index": 0, "page": null, "snippet": "…", "score": 0.82,'
    ' "link": null}]\n\nevent: token\ndata: {"text": "Restart the service [1]."}\n\n'
    'event: done\ndata: {"mode": "llm", "provider": "ollama", "model": "llama3",'
    ' "usage": {"prompt_tokens": 812, "completion_tokens": 9, "total_tokens": 821},'
    ' "first_token_ms": 340.2,'
    ' "processing_time_ms": 910.5, "query_id": "66f1c0ffee0123456789abce",'
    ' "conversation_id": null, "standalone_question": null}\n\n',
)


class FeedbackIn(BaseModel):
    rating: Literal["up", "down"]
    comment: Text = Field(default="", max_length=2000)


class FeedbackView(BaseModel):
    query_id: str
    rating: Literal["up", "down"]
    comment: str
    rated_at: datetime

    @classmethod
    def of(cls, q: RagQuery) -> FeedbackView | None:
        if q.rating not in ("up", "down"):
            return None
        rating: Literal["up", "down"] = "up" if q.rating == "up" else "down"
        return cls(query_id=str(q.id), rating=rating, comment=q.comment, rated_at=iso(q.rated_at))


class HistoryItem(BaseModel):
    id: str
    question: str
    answer: str
    sources: list[Source]
    mode: str
    search_mode: SearchMode | None
    standalone_question: str | None
    conversation_id: str | None
    feedback: FeedbackView | None
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
            search_mode=_mode(q.search_mode),
            standalone_question=q.standalone or None,
            conversation_id=q.conversation_id or None,
            feedback=FeedbackView.of(q),
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


class AreaFeedback(BaseModel):
    area_id: str = Field(description='an area\'s id, "personal" or "none" (no source)')
    name: str = Field(description="empty for an area deleted since")
    up: int
    down: int


class DownVoted(BaseModel):
    query_id: str
    user_id: str
    question: str
    answer_excerpt: str
    comment: str
    areas: list[str]
    conversation_id: str | None
    rated_at: datetime


class DownVotedPage(BaseModel):
    items: list[DownVoted]
    total: int
    offset: int
    limit: int


class FeedbackReport(BaseModel):
    up: int
    down: int
    areas: list[AreaFeedback] = Field(
        description="ratings under each area the rated answers cited, the most rated first"
    )
    down_voted: DownVotedPage = Field(description="the questions rated down, latest first")


def _mode(value: str) -> SearchMode | None:
    return cast("SearchMode", value) if value in SEARCH_MODES else None


def answerer(request: Request) -> Answerer:
    return served(app_state(request).rag, "questions")


def _result(outcome: Outcome, conversation_id: str) -> RagOut:
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
        conversation_id=conversation_id or None,
        standalone_question=outcome.standalone or None,
    )


def _done(outcome: Outcome, conversation_id: str) -> dict[str, Any]:
    result = _result(outcome, conversation_id).model_dump(mode="json")
    return {k: v for k, v in result.items() if k in AnswerDone.model_fields}


def _round(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 2)


async def respond(request: Request, answer: Answer) -> Response:
    """The prepared answer as JSON, or as server-sent events when the client accepts them."""
    conversation_id = answer.question.conversation_id
    if "text/event-stream" not in request.headers.get("accept", ""):
        async for kind, payload in answer.events():
            if kind == "error":
                raise payload
        return JSONResponse(_result(answer.outcome, conversation_id).model_dump(mode="json"))

    async def stream() -> AsyncIterator[str]:
        async for kind, payload in answer.events():
            if kind == "done":
                data: Any = _done(payload, conversation_id)
            elif kind == "error":
                data = {**error_response(payload).body, "query_id": answer.outcome.query_id}
            else:
                data = payload if kind == "sources" else {"text": payload}
            yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@endpoint(
    body=RagIn,
    responses={200: (RagOut, ANSWER_EVENTS)},
    errors=[404, 429, 502, 503],
    auth="user",
    tags=["rag"],
)
async def query(request: Request, body: RagIn, principal: Principal) -> Response:
    """Answer a question from the documents you may read, citing them as [n].

    With `Accept: text/event-stream` the answer streams as server-sent events:
    `sources` first, then `token` events, then `done` (or `error`). Failures
    before any output (a cap reached, a store down) are plain HTTP errors.
    Without an LLM provider the answer is extractive (`mode: "extractive"`):
    the few sentences of the sources that best answer the question, each
    followed by its [n]; the whole passages stay in `sources`.
    """
    question = body.asked(area_ids=body.area_ids, include_personal=body.include_personal)
    return await respond(request, await answerer(request).prepare(principal, question))


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


@endpoint(body=FeedbackIn, responses={200: FeedbackView}, errors=[404], auth="user", tags=["rag"])
async def rate(request: Request, body: FeedbackIn, principal: Principal) -> FeedbackView:
    """Rate the answer to one of your questions; a second rating replaces the first."""
    mongo = answerer(request).mongo
    query_id = str(request.path_params["query_id"])
    record = await feedback.rate(mongo, principal, query_id, body.rating, body.comment)
    view = FeedbackView.of(record)
    assert view is not None  # just rated
    return view


@endpoint(query=Paging, responses={200: FeedbackReport}, auth="admin", tags=["rag", "admin"])
async def feedback_report(request: Request, query: Paging, principal: Principal) -> FeedbackReport:
    """Ratings of answers per area, and the questions rated down (administrators).

    An answer counts under each area of the sources it cites, under
    `personal` for personal documents, and under `none` without sources. The
    paging applies to the questions rated down.
    """
    mongo = answerer(request).mongo
    areas = await feedback.counts(mongo)
    items, total = await feedback.down_voted(mongo, query.offset, query.limit)
    return FeedbackReport(
        # An answer citing two areas counts under each: the totals count answers.
        up=await feedback.rated_up(mongo),
        down=total,
        areas=[AreaFeedback(area_id=a.area_id, name=a.name, up=a.up, down=a.down) for a in areas],
        down_voted=DownVotedPage(
            items=[
                DownVoted(
                    query_id=str(q.id),
                    user_id=q.user_id,
                    question=q.question,
                    answer_excerpt=q.answer[:EXCERPT],
                    comment=q.comment,
                    areas=q.cited_areas,
                    conversation_id=q.conversation_id or None,
                    rated_at=iso(q.rated_at),
                )
                for q in items
            ],
            total=total,
            offset=query.offset,
            limit=query.limit,
        ),
    )


def routes() -> list[Route]:
    return [
        Route(f"{API}/query", query, methods=["POST"]),
        Route(f"{API}/history", history, methods=["GET"]),
        Route(f"{API}/history/{{query_id}}", history_item, methods=["GET"]),
        Route(f"{API}/history/{{query_id}}/feedback", rate, methods=["POST"]),
        Route("/api/v1/admin/feedback", feedback_report, methods=["GET"]),
    ]
