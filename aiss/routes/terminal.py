"""Terminal sessions under /api/v1/terminal: REST, tickets, the stream, recordings, commands."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute

from terminal.bridge import bridge
from terminal.ssh import Credentials

from ..api import Paging, endpoint
from ..errors import AissError, error_response
from ..origins import origin_allowed
from ..state import app_state, served
from ..terminals.manager import LocalTarget, SshTarget
from ..terminals.query import ask
from ..users.views import iso

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.websockets import WebSocket

    from ..storage.models import TerminalSessionRecord
    from ..terminals.manager import Terminals
    from ..users.views import Principal

API = "/api/v1/terminal"
# An IPv6 literal, or a name (IPv4 included) whose dot-separated labels are 1 to 63 characters
# (an empty or overlong label fails in the resolver, not here, otherwise).
LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
HOST = rf"^(?:\[?[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\]?|{LABEL}(?:\.{LABEL})*\.?)$"
TERM = r"^[A-Za-z0-9._+-]{1,64}$"


class LocalIn(BaseModel):
    type: Literal["local"]
    shell: str | None = Field(default=None, max_length=200)


class SshIn(BaseModel):
    type: Literal["ssh"]
    host: str = Field(max_length=253, pattern=HOST)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    password: str | None = Field(default=None, max_length=1024)
    private_key: str | None = Field(default=None, max_length=32_000)
    passphrase: str | None = Field(default=None, max_length=1024)
    save_credentials: bool = False


class SessionIn(BaseModel):
    target: Annotated[LocalIn | SshIn, Field(discriminator="type")]
    cols: int = Field(default=80, ge=1, le=1000)
    rows: int = Field(default=24, ge=1, le=500)
    term: str = Field(default="xterm-256color", pattern=TERM)
    title: str = Field(default="", max_length=200)
    index_commands: bool = Field(
        default=False,
        description="make the command log (secrets redacted) part of your personal knowledge",
    )


class SessionView(BaseModel):
    id: str
    status: str
    owner_id: str
    target: dict[str, Any]
    cols: int
    rows: int
    term: str
    title: str
    tags: list[str]
    shared_with: list[str]
    index_commands: bool
    bytes_in: int
    bytes_out: int
    recording_lost: int = Field(description="output bytes left out of the recording")
    exit_code: int | None
    error: str | None
    ws_path: str
    node: str  # host:port of the AISS process running it
    created_at: datetime
    ended_at: datetime | None

    @classmethod
    def of(cls, r: TerminalSessionRecord) -> SessionView:
        return cls(
            id=str(r.id),
            status=r.status,
            owner_id=r.owner_id,
            target=r.target,
            cols=r.cols,
            rows=r.rows,
            term=r.term,
            title=r.title,
            tags=r.tags,
            shared_with=r.shared_with,
            index_commands=r.index_commands,
            bytes_in=r.bytes_in,
            bytes_out=r.bytes_out,
            recording_lost=r.recording_lost,
            exit_code=r.exit_code if r.exit_code >= 0 else None,
            error=r.error or None,
            ws_path=f"{API}/sessions/{r.id}/stream",
            node=r.node,
            created_at=iso(r.created_at),
            ended_at=iso(r.ended_at) if r.ended_at else None,
        )


class SessionPage(BaseModel):
    items: list[SessionView]
    total: int
    offset: int
    limit: int


class SessionQuery(Paging):
    all: bool = Field(default=False, description="administrators: everyone's sessions")
    status: str | None = Field(default=None, pattern=r"^[a-z]{1,20}$")


class SessionChange(BaseModel):
    cols: int | None = Field(default=None, ge=1, le=1000)
    rows: int | None = Field(default=None, ge=1, le=500)
    title: str | None = Field(default=None, max_length=200)
    tags: list[Annotated[str, Field(min_length=1, max_length=50)]] | None = Field(
        default=None, max_length=20
    )
    shared_with: list[Annotated[str, Field(pattern=r"^[0-9a-f]{24}$")]] | None = Field(
        default=None, max_length=50, description="user ids who may observe (read-only)"
    )
    index_commands: bool | None = None


class TicketIn(BaseModel):
    role: Literal["driver", "observer"] = "driver"


class TicketView(BaseModel):
    ticket: str
    role: str
    expires_in: int
    ws_path: str


class SandboxLimits(BaseModel):
    processes: int
    open_files: int
    memory_bytes: int
    cpu_seconds: int
    tmp_bytes: int
    nice: int


class Capabilities(BaseModel):
    sandbox: str | None = Field(description="the sandbox local shells run in: bwrap, uid, none")
    sandbox_setting: str
    not_available: dict[str, str] = Field(description="backends tried that did not run, and why")
    local: str = Field(description="who may open local shells: all, admin or none")
    local_for_you: bool
    network: str
    limits: SandboxLimits


def terminals(request: Request | WebSocket) -> Terminals:
    return served(app_state(request).terminals, "terminal sessions")


def _id(request: Request) -> str:
    return str(request.path_params["session_id"])


@endpoint(
    body=SessionIn,
    responses={201: SessionView},
    errors=[400, 403, 409, 429, 503],
    auth="user",
    tags=["terminal"],
)
async def create_session(request: Request, body: SessionIn, principal: Principal) -> Response:
    """Open a terminal: a local shell, or an SSH host whose key you have confirmed.

    An unknown host key answers 409 `host_key_unknown` with the key and its
    fingerprint: store it with POST /terminal/known-hosts once you trust it.
    """
    t = body.target
    target: LocalTarget | SshTarget
    if isinstance(t, LocalIn):
        target = LocalTarget(t.shell)
    else:
        credentials = Credentials(t.username, t.password, t.private_key, t.passphrase)
        target = SshTarget(t.host, t.port, credentials, t.save_credentials)
    record = await terminals(request).open(
        principal,
        target,
        cols=body.cols,
        rows=body.rows,
        term=body.term,
        title=body.title,
        index_commands=body.index_commands,
    )
    view = SessionView.of(record)
    return Response(view.model_dump_json(), status_code=201, media_type="application/json")


@endpoint(responses={200: Capabilities}, auth="user", tags=["terminal"])
async def capabilities(request: Request, principal: Principal) -> Capabilities:
    """What terminals this server offers you: the local shells' sandbox and limits."""
    return Capabilities.model_validate(terminals(request).capabilities(principal))


@endpoint(query=SessionQuery, responses={200: SessionPage}, auth="user", tags=["terminal"])
async def list_sessions(request: Request, query: SessionQuery, principal: Principal) -> SessionPage:
    """Your sessions and those shared with you, newest first (administrators: `all=true`)."""
    items, total = await terminals(request).find(
        principal, everyone=query.all, status=query.status, offset=query.offset, limit=query.limit
    )
    return SessionPage(
        items=[SessionView.of(r) for r in items],
        total=total,
        offset=query.offset,
        limit=query.limit,
    )


@endpoint(responses={200: SessionView}, errors=[404], auth="user", tags=["terminal"])
async def get_session(request: Request, principal: Principal) -> SessionView:
    """One session."""
    return SessionView.of(await terminals(request).record(principal, _id(request)))


@endpoint(
    body=SessionChange,
    responses={200: SessionView},
    errors=[403, 404],
    auth="user",
    tags=["terminal"],
)
async def change_session(
    request: Request, body: SessionChange, principal: Principal
) -> SessionView:
    """Resize, retitle, tag, or share read-only with other users."""
    fields = body.model_dump(exclude_none=True)
    return SessionView.of(await terminals(request).change(principal, _id(request), fields))


@endpoint(responses={204: None}, errors=[403, 404], auth="user", tags=["terminal"])
async def delete_session(request: Request, principal: Principal) -> Response:
    """End the session: its program and everything it started are killed."""
    await terminals(request).terminate(principal, _id(request))
    return Response(status_code=204)


@endpoint(body=TicketIn, responses={200: TicketView}, errors=[404], auth="user", tags=["terminal"])
async def create_ticket(request: Request, body: TicketIn, principal: Principal) -> TicketView:
    """A single-use ticket for the session's WebSocket, good for 30 seconds.

    Only the owner drives; anyone else it is shared with (or an administrator) observes.
    """
    token, ticket = await terminals(request).ticket(principal, _id(request), body.role)
    return TicketView(
        ticket=token,
        role=ticket.role,
        expires_in=30,
        ws_path=f"{API}/sessions/{_id(request)}/stream",
    )


@endpoint(responses={200: "application/x-asciicast"}, errors=[404], auth="user", tags=["terminal"])
async def recording(request: Request, principal: Principal) -> Response:
    """The session's recording, asciicast v2 (so far, for a running session)."""
    parts = terminals(request).recording(principal, _id(request))
    first = await anext(parts, b"")  # the permission check runs before any byte is sent

    async def body() -> Any:
        yield first
        async for part in parts:
            yield part

    return StreamingResponse(body(), media_type="application/x-asciicast")


async def stream(websocket: WebSocket) -> None:
    """The terminal stream; docs/terminal-protocol.md describes it."""
    state = app_state(websocket)
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host", "")
    if not origin_allowed(origin, host, state.settings.cors_allowed_origins):
        await websocket.close(1008, "origin not allowed")
        return
    session_id = str(websocket.path_params["session_id"])
    try:
        manager = terminals(websocket)
        ticket = manager.redeem(websocket.query_params.get("ticket", ""), session_id)
        session = manager.live(session_id)
    except AissError as exc:
        # Accepted first, so the client learns why: 4000 + the HTTP status.
        error = error_response(exc)
        await websocket.accept()
        await websocket.close(4000 + error.status, error.body["message"][:120])
        return
    role = ticket.role
    if websocket.query_params.get("role") == "observer":
        role = "observer"
    answerer = state.rag

    async def on_query(question: str, attach: bool) -> dict[str, Any]:
        last = manager.last_command(session_id) if attach else None
        result = await ask(answerer, ticket.principal, question, last)
        return {
            "answer": result.answer,
            "sources": result.sources,
            "mode": result.mode,
            "error": result.error or None,
            "text": result.screen().decode(),
        }

    await websocket.accept()
    await bridge(websocket, session, ticket.user_id, role, on_query)


def routes() -> list[Route | WebSocketRoute]:
    one = f"{API}/sessions/{{session_id}}"
    return [
        Route(f"{API}/capabilities", capabilities, methods=["GET"]),
        Route(f"{API}/sessions", create_session, methods=["POST"]),
        Route(f"{API}/sessions", list_sessions, methods=["GET"]),
        Route(one, get_session, methods=["GET"]),
        Route(one, change_session, methods=["PATCH"]),
        Route(one, delete_session, methods=["DELETE"]),
        Route(f"{one}/ticket", create_ticket, methods=["POST"]),
        Route(f"{one}/recording", recording, methods=["GET"]),
        WebSocketRoute(f"{one}/stream", stream),
    ]
