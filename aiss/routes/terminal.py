"""Terminal sessions under /api/v1/terminal: REST, tickets, the stream, recordings, commands."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from beanie import PydanticObjectId
from pydantic import BaseModel, Field
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute

from terminal.bridge import bridge
from terminal.ssh import Credentials, HostKey

from ..api import Paging, endpoint
from ..errors import AissError, NotFound, ValidationFailed, error_response
from ..state import app_state, served
from ..storage.models import KnownHost, TerminalCommand
from ..terminals.manager import LocalTarget, SshTarget
from ..terminals.query import ask
from ..terminals.tree import purge
from ..users.views import iso

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.websockets import WebSocket

    from ..storage.models import TerminalSessionRecord
    from ..terminals.manager import Terminals
    from ..users.views import Principal

API = "/api/v1/terminal"
HOST = r"^[A-Za-z0-9.:_\[\]-]{1,253}$"
TERM = r"^[A-Za-z0-9._+-]{1,64}$"


class LocalIn(BaseModel):
    type: Literal["local"]
    shell: str | None = Field(default=None, max_length=200)


class SshIn(BaseModel):
    type: Literal["ssh"]
    host: str = Field(pattern=HOST)
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
    exit_code: int | None
    error: str | None
    ws_path: str
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
            exit_code=r.exit_code if r.exit_code >= 0 else None,
            error=r.error or None,
            ws_path=f"{API}/sessions/{r.id}/stream",
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


class CommandView(BaseModel):
    id: str
    session_id: str
    host: str
    cwd: str
    command: str
    exit_code: int | None
    started_at: datetime
    ended_at: datetime
    output: str

    @classmethod
    def of(cls, c: TerminalCommand) -> CommandView:
        return cls(
            id=str(c.id),
            session_id=c.session_id,
            host=c.host,
            cwd=c.cwd,
            command=c.command,
            exit_code=c.exit_code,
            started_at=iso(c.started_at),
            ended_at=iso(c.ended_at),
            output=c.output,
        )


class CommandQuery(Paging):
    q: str | None = Field(default=None, max_length=200, description="words in the command")
    session_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{24}$")
    host: str | None = Field(default=None, pattern=HOST)
    exit_code: int | None = Field(default=None, ge=-1, le=1000)


class CommandPage(BaseModel):
    items: list[CommandView]
    total: int
    offset: int
    limit: int


class KnownHostIn(BaseModel):
    host: str = Field(pattern=HOST)
    port: int = Field(default=22, ge=1, le=65535)
    public_key: str = Field(
        max_length=16_000,
        pattern=r"^(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+( .*)?$",
        description="the key as the 409 answer gave it (OpenSSH format)",
    )


class KnownHostView(BaseModel):
    id: str
    host: str
    port: int
    key_type: str
    fingerprint_sha256: str
    created_at: datetime


class KnownHostList(BaseModel):
    items: list[KnownHostView]


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


@endpoint(query=CommandQuery, responses={200: CommandPage}, auth="user", tags=["terminal"])
async def commands(request: Request, query: CommandQuery, principal: Principal) -> CommandPage:
    """Search your command log (administrators: everyone's)."""
    filters: dict[str, Any] = {} if principal.is_admin else {"owner_id": principal.user_id}
    if query.session_id:
        filters["session_id"] = query.session_id
    if query.host:
        filters["host"] = query.host
    if query.exit_code is not None:
        filters["exit_code"] = query.exit_code
    stores = served(app_state(request).stores, "stores")
    with stores.mongo.breaker.guard():
        found = await TerminalCommand.find(filters).sort("-started_at").to_list()
    if query.q:
        # Words in Python: the embedded server's regex support is limited.
        words = [w.casefold() for w in re.findall(r"\S+", query.q)]
        found = [c for c in found if all(w in c.command.casefold() for w in words)]
    page = found[query.offset : query.offset + query.limit]
    return CommandPage(
        items=[CommandView.of(c) for c in page],
        total=len(found),
        offset=query.offset,
        limit=query.limit,
    )


@endpoint(responses={200: KnownHostList}, auth="user", tags=["terminal"])
async def list_known_hosts(request: Request, principal: Principal) -> KnownHostList:
    """The host keys you confirmed."""
    stores = served(app_state(request).stores, "stores")
    with stores.mongo.breaker.guard():
        found = await KnownHost.find(KnownHost.owner_id == principal.user_id).to_list()
    return KnownHostList(items=[_known_view(k) for k in found])


@endpoint(
    body=KnownHostIn, responses={201: KnownHostView}, errors=[409], auth="user", tags=["terminal"]
)
async def add_known_host(request: Request, body: KnownHostIn, principal: Principal) -> Response:
    """Trust a host key (as the 409 of a session's creation showed it); it replaces one of the
    same type for the host."""
    key_type, blob = body.public_key.split()[:2]
    key = HostKey(body.host, body.port, key_type, f"{key_type} {blob}")
    try:
        fingerprint = key.fingerprint_sha256
    except ValueError:
        raise ValidationFailed("public_key: not a valid key", [{"loc": ["public_key"]}]) from None
    stores = served(app_state(request).stores, "stores")
    with stores.mongo.breaker.guard():
        old = await KnownHost.find_one(
            KnownHost.owner_id == principal.user_id,
            KnownHost.host == body.host,
            KnownHost.port == body.port,
            KnownHost.key_type == key_type,
        )
        if old is not None:
            await old.delete()
        known = KnownHost(
            owner_id=principal.user_id,
            host=body.host,
            port=body.port,
            key_type=key_type,
            public_key=key.public_key,
            fingerprint_sha256=fingerprint,
        )
        await known.insert()
    view = _known_view(known)
    return Response(view.model_dump_json(), status_code=201, media_type="application/json")


@endpoint(responses={204: None}, errors=[404], auth="user", tags=["terminal"])
async def delete_known_host(request: Request, principal: Principal) -> Response:
    """Stop trusting a host key."""
    stores = served(app_state(request).stores, "stores")
    key_id = str(request.path_params["key_id"])
    found = None
    if PydanticObjectId.is_valid(key_id):
        with stores.mongo.breaker.guard():
            found = await KnownHost.get(PydanticObjectId(key_id))
    if found is None or found.owner_id != principal.user_id:
        raise NotFound("no such known host")
    with stores.mongo.breaker.guard():
        await found.delete()
    return Response(status_code=204)


def _known_view(k: KnownHost) -> KnownHostView:
    return KnownHostView(
        id=str(k.id),
        host=k.host,
        port=k.port,
        key_type=k.key_type,
        fingerprint_sha256=k.fingerprint_sha256,
        created_at=iso(k.created_at),
    )


class PurgeIn(BaseModel):
    sessions_older_than_days: float | None = Field(
        default=None, ge=0, le=36500, description="default: AISS_TERMINAL_SESSION_RETENTION"
    )
    commands_older_than_days: float | None = Field(
        default=None, ge=0, le=36500, description="default: AISS_TERMINAL_COMMAND_RETENTION"
    )


class PurgeOut(BaseModel):
    sessions: int
    commands: int


@endpoint(body=PurgeIn, responses={200: PurgeOut}, auth="admin", tags=["terminal"])
async def purge_old(request: Request, body: PurgeIn, principal: Principal) -> PurgeOut:
    """Purge ended sessions (with their recordings) and commands now (administrators);
    a periodic job does the same every hour with the retention settings."""

    def seconds(days: float | None) -> float | None:
        return None if days is None else days * 86400

    purged = await purge(
        terminals(request),
        sessions_older_than=seconds(body.sessions_older_than_days),
        commands_older_than=seconds(body.commands_older_than_days),
    )
    return PurgeOut(**purged)


async def stream(websocket: WebSocket) -> None:
    """The terminal stream; docs/terminal-protocol.md describes it."""
    state = app_state(websocket)
    origin = websocket.headers.get("origin")
    allowed = state.settings.cors_allowed_origins
    host = websocket.headers.get("host", "")
    same = origin is not None and origin.split("://", 1)[-1] == host
    if origin and not same and "*" not in allowed and origin not in allowed:
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
        Route(f"{API}/sessions", create_session, methods=["POST"]),
        Route(f"{API}/sessions", list_sessions, methods=["GET"]),
        Route(one, get_session, methods=["GET"]),
        Route(one, change_session, methods=["PATCH"]),
        Route(one, delete_session, methods=["DELETE"]),
        Route(f"{one}/ticket", create_ticket, methods=["POST"]),
        Route(f"{one}/recording", recording, methods=["GET"]),
        WebSocketRoute(f"{one}/stream", stream),
        Route(f"{API}/commands", commands, methods=["GET"]),
        Route(f"{API}/known-hosts", list_known_hosts, methods=["GET"]),
        Route(f"{API}/known-hosts", add_known_host, methods=["POST"]),
        Route(f"{API}/known-hosts/{{key_id}}", delete_known_host, methods=["DELETE"]),
        Route("/api/v1/admin/terminal/purge", purge_old, methods=["POST"]),
    ]
