"""The MCP server at /mcp: streamable HTTP, the same bearer tokens and API keys as REST.

Tools act as the authenticated user, with the same permission checks as the
REST routes: `search_knowledge`, `ask`, `store_document` and `list_areas`.
Without explicit areas, the search tools use the user's active contexts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from ..documents.library import Upload, check_tags
from ..errors import AissError, Forbidden, error_response
from ..rag.answer import QUESTION_CHARS, Question
from ..rag.prompt import public
from ..routes.rag import unicode_text
from ..state import app_state, served
from ..storage.vectors import SearchMode  # noqa: TC001 (the tools' schemas read it at run time)

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from ..state import AppState
    from ..users.views import Principal

PRINCIPAL = "aiss.principal"
MAX_DOCUMENT = 5 * 1024 * 1024  # characters a tool may store in one document


class McpEndpoint:
    """The ASGI endpoint: authenticate, check the origin, hand over to the SDK."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        self.origins = origins
        self.server = _server()
        self.sessions = StreamableHTTPSessionManager(
            app=self.server._mcp_server,
            json_response=False,
            # Each request stands alone, so any replica of the role can answer it.
            stateless=True,
            # The SDK's own host check knows nothing of our deployment; the bearer
            # token already rules out DNS rebinding, and origins are checked here.
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = HTTPConnection(scope)
        try:
            origin = connection.headers.get("origin")
            if origin and "*" not in self.origins and origin not in self.origins:
                raise Forbidden(f"origin {origin!r} is not allowed")
            scope[PRINCIPAL] = await app_state(connection).authenticate(connection)
        except AissError as exc:
            error = error_response(exc)
            reply = JSONResponse(error.body, status_code=error.status, headers=error.headers)
            await reply(scope, receive, send)
            return
        await self.sessions.handle_request(scope, receive, send)


def _caller(ctx: Context[Any, Any, Any]) -> tuple[AppState, Principal]:
    request = ctx.request_context.request
    if request is None:  # pragma: no cover - only over HTTP
        raise ToolError("no HTTP request")
    return app_state(request), request.scope[PRINCIPAL]


def _server() -> FastMCP[Any]:
    server: FastMCP[Any] = FastMCP(
        "AISS",
        instructions=(
            "Search and ask the team's knowledge; answers cite their sources as [n]."
            " Without area_ids the tools use your active contexts (or everything you may read)."
        ),
    )

    @server.tool()
    async def search_knowledge(
        query: str,
        ctx: Context[Any, Any, Any],
        area_ids: list[str] | None = None,
        limit: int = 5,
        mode: SearchMode | None = None,
        hybrid: bool = False,
    ) -> list[dict[str, Any]]:
        """Passages of the documents you may read, nearest to `query` first.

        `mode`: dense (vectors), sparse (keywords) or hybrid (both fused); absent:
        the server's default. `hybrid: true` is an older way to say mode hybrid.
        """
        state, principal = _caller(ctx)
        knowledge = served(state.knowledge, "documents")
        contexts = served(state.contexts, "contexts")
        limit = max(1, min(limit, 50))
        try:
            areas = await contexts.scope(principal, area_ids)
            hits = await knowledge.search(
                principal,
                query,
                scope=None,
                area_ids=areas,
                tags=None,
                limit=limit,
                mode=mode or ("hybrid" if hybrid else None),
            )
        except AissError as exc:
            raise ToolError(exc.message) from None
        return [
            {
                "document_id": str(h.document.id),
                "title": h.document.title,
                "chunk_index": h.chunk_index,
                "page": h.page or None,
                "score": round(h.score, 4),
                "text": h.text,
            }
            for h in hits
        ]

    @server.tool()
    async def ask(
        question: str,
        ctx: Context[Any, Any, Any],
        area_ids: list[str] | None = None,
        provider_id: str | None = None,
        max_sources: int = 5,
        mode: SearchMode | None = None,
    ) -> dict[str, Any]:
        """An answer from your documents, citing its numbered sources as [n]; `mode` is
        the search's (dense, sparse or hybrid; absent: the server's default)."""
        question = question.strip()
        if not 0 < len(question) <= QUESTION_CHARS:
            raise ToolError(f"a question of 1 to {QUESTION_CHARS} characters")
        try:
            unicode_text(question)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        state, principal = _caller(ctx)
        answerer = served(state.rag, "questions")
        contexts = served(state.contexts, "contexts")
        try:
            areas = await contexts.scope(principal, area_ids)
            asked = Question(
                question,
                areas,
                max_sources=max(1, min(max_sources, 20)),
                provider_id=provider_id,
                mode=mode,
            )
            answer = await answerer.prepare(principal, asked)
            async for kind, payload in answer.events():
                if kind == "error":
                    raise payload
        except AissError as exc:
            raise ToolError(exc.message) from None
        outcome = answer.outcome
        return {
            "answer": outcome.answer,
            "sources": public(outcome.sources),
            "mode": outcome.mode,
            "provider": outcome.provider,
            "model": outcome.model,
            "query_id": outcome.query_id,
        }

    @server.tool()
    async def store_document(
        title: str,
        content: str,
        ctx: Context[Any, Any, Any],
        area_id: str | None = None,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        """Store text as a document (personal, or shared into `area_id`); it is indexed next."""
        state, principal = _caller(ctx)
        knowledge = served(state.knowledge, "documents")
        if not title.strip() or len(title) > 300:
            raise ToolError("title: 1 to 300 characters")
        if not content.strip() or len(content) > MAX_DOCUMENT:
            raise ToolError(f"content: 1 to {MAX_DOCUMENT} characters")
        try:
            meta = Upload(
                title.strip(),
                "",
                check_tags(tags or []),
                "shared" if area_id else "personal",
                area_id or "",
            )
            stored = await knowledge.store(
                principal, meta, content.encode(), f"{title.strip()[:100]}.md"
            )
        except AissError as exc:
            raise ToolError(exc.message) from None
        return {"id": stored.id, "status": stored.status, "duplicate": stored.duplicate}

    @server.tool()
    async def list_areas(ctx: Context[Any, Any, Any]) -> list[dict[str, Any]]:
        """The areas you may read, and whether each is one of your active contexts."""
        state, principal = _caller(ctx)
        contexts = served(state.contexts, "contexts")
        return [
            {"id": c.area_id, "name": c.name, "description": c.description, "active": c.active}
            for c in await contexts.all(principal)
        ]

    return server
