"""Conversations under /api/v1/conversations: questions asked one after another, each
follow-up retrieved with the context of the earlier turns. Only the owner sees one."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.routing import Route

from ..api import Paging, endpoint
from ..users.views import iso
from .rag import (
    ANSWER_EVENTS,
    AskOptions,
    FeedbackView,
    HistoryItem,
    RagOut,
    Source,
    Text,
    answerer,
    respond,
)

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..rag.conversations import Conversations
    from ..storage.models import Conversation, RagQuery
    from ..users.views import Principal

API = "/api/v1/conversations"
AreaIds = list[Annotated[str, Field(max_length=64)]]


class ConversationIn(BaseModel):
    title: Text = Field(default="", max_length=200, description="empty: the first question")
    area_ids: AreaIds = Field(
        default_factory=list,
        max_length=100,
        description="only these areas (`personal` stands for your personal documents);"
        " empty: all you may read",
    )
    include_personal: bool = True


class ConversationChange(BaseModel):
    title: Text | None = Field(default=None, max_length=200)
    area_ids: AreaIds | None = Field(default=None, max_length=100)
    include_personal: bool | None = None


class MessageIn(AskOptions):
    """A question of the conversation: its areas and personal scope are the conversation's."""


class ConversationView(BaseModel):
    id: str
    title: str
    area_ids: list[str]
    include_personal: bool
    message_count: int = Field(description="the questions asked in it")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Conversation) -> ConversationView:
        return cls(
            id=str(c.id),
            title=c.title,
            area_ids=c.area_ids,
            include_personal=c.include_personal,
            message_count=c.turns,
            created_at=iso(c.created_at),
            updated_at=iso(c.updated_at),
        )


class Message(BaseModel):
    """One turn: the question and its answer."""

    query_id: str
    question: str
    answer: str
    sources: list[Source]
    mode: str
    search_mode: str | None
    standalone_question: str | None
    error: str | None
    feedback: FeedbackView | None
    created_at: datetime

    @classmethod
    def of(cls, q: RagQuery) -> Message:
        item = HistoryItem.of(q)
        return cls(
            query_id=item.id,
            question=item.question,
            answer=item.answer,
            sources=item.sources,
            mode=item.mode,
            search_mode=item.search_mode,
            standalone_question=item.standalone_question,
            error=item.error,
            feedback=item.feedback,
            created_at=item.created_at,
        )


class ConversationDetail(ConversationView):
    messages: list[Message] = Field(description="oldest first; `offset` and `limit` page them")
    offset: int
    limit: int


class ConversationPage(BaseModel):
    items: list[ConversationView]
    total: int
    offset: int
    limit: int


def conversations(request: Request) -> Conversations:
    return answerer(request).conversations


def _id(request: Request) -> str:
    return str(request.path_params["conversation_id"])


@endpoint(
    body=ConversationIn, responses={201: ConversationView}, auth="user", tags=["conversations"]
)
async def create(request: Request, body: ConversationIn, principal: Principal) -> ConversationView:
    """Start a conversation over some areas (or all you may read)."""
    created = await conversations(request).create(
        principal, body.title, body.area_ids, body.include_personal
    )
    return ConversationView.of(created)


@endpoint(query=Paging, responses={200: ConversationPage}, auth="user", tags=["conversations"])
async def list_conversations(
    request: Request, query: Paging, principal: Principal
) -> ConversationPage:
    """Your conversations, the most recently active first."""
    items, total = await conversations(request).page(principal, query.offset, query.limit)
    return ConversationPage(
        items=[ConversationView.of(c) for c in items],
        total=total,
        offset=query.offset,
        limit=query.limit,
    )


@endpoint(
    query=Paging,
    responses={200: ConversationDetail},
    errors=[404],
    auth="user",
    tags=["conversations"],
)
async def get(request: Request, query: Paging, principal: Principal) -> ConversationDetail:
    """One of your conversations, with its messages."""
    store = conversations(request)
    conversation = await store.get(principal, _id(request))
    turns, total = await store.turns(conversation, query.offset, query.limit)
    view = ConversationView.of(conversation).model_dump()
    return ConversationDetail(
        **(view | {"message_count": total}),
        messages=[Message.of(q) for q in turns],
        offset=query.offset,
        limit=query.limit,
    )


@endpoint(
    body=ConversationChange,
    responses={200: ConversationView},
    errors=[404],
    auth="user",
    tags=["conversations"],
)
async def update(
    request: Request, body: ConversationChange, principal: Principal
) -> ConversationView:
    """Rename a conversation, or change the areas its next questions search."""
    fields = body.model_dump(exclude_none=True)
    changed = await conversations(request).update(principal, _id(request), fields)
    return ConversationView.of(changed)


@endpoint(responses={204: None}, errors=[404], auth="user", tags=["conversations"])
async def delete(request: Request, principal: Principal) -> Response:
    """Delete a conversation and its messages."""
    await conversations(request).delete(principal, _id(request))
    return Response(status_code=204)


@endpoint(
    body=MessageIn,
    responses={200: (RagOut, ANSWER_EVENTS)},
    errors=[404, 429, 502, 503],
    auth="user",
    tags=["conversations"],
)
async def ask(request: Request, body: MessageIn, principal: Principal) -> Response:
    """Ask the next question of a conversation; it answers as POST /api/v1/rag/query does.

    A follow-up is retrieved with the conversation's context: with an LLM, the
    model first rewrites it into a standalone question (`standalone_question`
    in the result); without one, the follow-up alone and joined to the last
    questions are searched and the rankings fused. The LLM's prompt carries
    the recent turns. JSON, or server-sent events with `Accept:
    text/event-stream`; the question and its answer become the next message.
    """
    store = conversations(request)
    conversation = await store.get(principal, _id(request))
    history = await store.recent(conversation)
    question = body.asked(
        area_ids=conversation.area_ids or None,
        include_personal=conversation.include_personal,
        history=tuple(history),
        conversation_id=str(conversation.id),
    )
    return await respond(request, await answerer(request).prepare(principal, question))


def routes() -> list[Route]:
    one = f"{API}/{{conversation_id}}"
    return [
        Route(API, create, methods=["POST"]),
        Route(API, list_conversations, methods=["GET"]),
        Route(one, get, methods=["GET"]),
        Route(one, update, methods=["PATCH"]),
        Route(one, delete, methods=["DELETE"]),
        Route(f"{one}/messages", ask, methods=["POST"]),
    ]
