"""The terminal's records under /api/v1/terminal: the command log, known hosts, purging."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.routing import Route

from ..api import Paging, endpoint
from ..state import app_state, served
from ..storage.models import KnownHost, TerminalCommand
from ..terminals.tree import purge
from ..users.views import iso
from .terminal import API, HOST, terminals

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..users.views import Principal


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
    found = await terminals(request).targets.known_hosts(principal)
    return KnownHostList(items=[_known_view(k) for k in found])


@endpoint(body=KnownHostIn, responses={201: KnownHostView}, auth="user", tags=["terminal"])
async def add_known_host(request: Request, body: KnownHostIn, principal: Principal) -> Response:
    """Trust a host key (as the 409 of a session's creation showed it); it replaces one of the
    same type for the host."""
    known = await terminals(request).targets.trust(principal, body.host, body.port, body.public_key)
    view = _known_view(known)
    return Response(view.model_dump_json(), status_code=201, media_type="application/json")


@endpoint(responses={204: None}, errors=[404], auth="user", tags=["terminal"])
async def delete_known_host(request: Request, principal: Principal) -> Response:
    """Stop trusting a host key."""
    await terminals(request).targets.forget(principal, str(request.path_params["key_id"]))
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


def routes() -> list[Route]:
    return [
        Route(f"{API}/commands", commands, methods=["GET"]),
        Route(f"{API}/known-hosts", list_known_hosts, methods=["GET"]),
        Route(f"{API}/known-hosts", add_known_host, methods=["POST"]),
        Route(f"{API}/known-hosts/{{key_id}}", delete_known_host, methods=["DELETE"]),
        Route("/api/v1/admin/terminal/purge", purge_old, methods=["POST"]),
    ]
