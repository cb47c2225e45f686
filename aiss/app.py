"""`create_app`: the Starlette app and the one lifespan that runs the actor tree."""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute

from actors import ActorError, running

from . import web
from .api import openapi_document
from .areas.catalog import Catalog
from .auth.sealing import Sealer, reseal
from .config import ROLE_PORTS
from .documents.remote import RemoteLibrary
from .documents.tree import build_documents
from .embedding.service import Embedder
from .embedding.tree import build_embeddings, build_remote_embeddings
from .errors import AissError, error_response, from_http_status
from .gateway.server import SshGateway, build_gateway
from .llm.providers import Providers
from .mcp.contexts import Contexts
from .mcp.server import McpEndpoint
from .metrics import Metrics
from .middleware import RequestContext, SecurityHeaders
from .proxy import Owners, Proxy
from .rag.answer import Answerer
from .routes import areas as area_routes
from .routes import auth, browser, health, terminal_records
from .routes import contexts as context_routes
from .routes import conversations as conversation_routes
from .routes import documents as document_routes
from .routes import embeddings as embedding_routes
from .routes import llm as llm_routes
from .routes import rag as rag_routes
from .routes import terminal as terminal_routes
from .routes import users as user_routes
from .state import AppState
from .storage.stores import build_stores
from .terminals.tree import build_terminals
from .tree import build_tree, runs
from .users.service import build_users

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

    from starlette.requests import Request

    from actors import ChildSpec

    from .config import Settings
    from .documents.knowledge import Knowledge
    from .storage.stores import Stores

logger = logging.getLogger("aiss")
# Streams (answers, events, recordings) may stay open: only connecting is bounded.
UPSTREAM_TIMEOUT = httpx.Timeout(connect=5.0, read=None, write=60.0, pool=10.0)


ABOUT = """A team's knowledge and terminals: documents, answers that cite them, shell sessions.

Most operations take `Authorization: Bearer` with an access token (POST
/api/v1/auth/login) or an API key (POST /api/v1/users/me/api-keys, or the web
UI's settings). Every error answers with an `ErrorBody` whose `error` code says
what went wrong."""


def _version() -> str:
    try:
        return version("aiss")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


async def _on_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, HTTPException):
        exc = from_http_status(exc.status_code, str(exc.detail))
    elif not isinstance(exc, (AissError, ActorError)):
        logger.error("unhandled error", exc_info=exc)
    error = error_response(exc)
    return JSONResponse(error.body, status_code=error.status, headers=error.headers)


def _proxy_routes(settings: Settings, client: httpx.AsyncClient) -> list[BaseRoute]:
    """The gateway role: every API path forwarded to the role that serves it."""
    upstreams = {role: settings.role_url(role) for role in ROLE_PORTS if role != "gateway"}
    terminal_roles = [upstreams["terminal-sessions"], upstreams["terminal-gateway"]]
    owners = Owners(client, upstreams["terminal-sessions"], terminal_roles)
    proxy = Proxy(upstreams, client, owners, settings.cors_allowed_origins)
    return [
        Route("/api/{rest:path}", proxy),
        Route("/v1/{rest:path}", proxy),
        Route("/mcp", proxy),
        WebSocketRoute("/api/{rest:path}", proxy),
    ]


def api_routes() -> list[BaseRoute]:
    """Every route the roles serve between them: what /openapi.json describes."""
    return [
        *health.routes(),
        *auth.routes(),
        *browser.routes(),
        *user_routes.routes(),
        *embedding_routes.routes(),
        *document_routes.routes(),
        *area_routes.routes(),
        *llm_routes.routes(),
        *rag_routes.routes(),
        *conversation_routes.routes(),
        *context_routes.routes(),
        *terminal_routes.routes(),
        *terminal_records.routes(),
    ]


def create_app(
    settings: Settings,
    *,
    subtrees: Sequence[ChildSpec] | None = None,
    on_fatal: Callable[[Exception], None] | None = None,
) -> Starlette:
    """Build the app for `settings`.

    `subtrees` replaces the supervised subtrees the process may run (tests use
    it); its role picks among them. `on_fatal` is called if the tree gives up
    while serving.
    """
    # Everything under the data dir is the server's alone (shells run as other uids).
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    stores = users = embeddings = documents = terminals = None
    gateway: SshGateway | None = None
    # A process of one role reaches the others over HTTP.
    client = None if settings.role == "all" else httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT)
    if subtrees is None:
        if runs(settings.role, "stores"):
            stores = build_stores(settings)
            if runs(settings.role, "users"):
                users = build_users(settings, stores.mongo)
        if runs(settings.role, "embedding"):
            embeddings = build_embeddings(settings)
        elif client and users and runs(settings.role, "documents"):
            embeddings = build_remote_embeddings(settings, client, users.tokens)
        if stores and embeddings and runs(settings.role, "documents"):
            documents = build_documents(settings, stores, embeddings)
        if stores and runs(settings.role, "terminals"):
            terminals = build_terminals(settings, stores)
        parts = (stores, embeddings, users, documents, terminals)
        subtrees = [part.tree for part in parts if part is not None and part.tree is not None]
        if users and terminals and settings.ssh_port and runs(settings.role, "ssh_gateway"):
            gateway_tree, gateway = build_gateway(settings, users, terminals.terminals)
            subtrees.append(gateway_tree)
    root = build_tree(settings, subtrees)
    extra = [
        service.metric_families
        for service in (embeddings.services() if embeddings else [])
        if isinstance(service, Embedder)
    ]
    if terminals is not None:
        extra.append(terminals.terminals.metric_families)
    metrics = Metrics(root.nodes, extra)
    routes = api_routes()
    document = openapi_document(routes, title="AISS", version=_version(), description=ABOUT)
    if client is not None and settings.role == "gateway":
        routes = [*health.routes(), *_proxy_routes(settings, client)]
    mcp = McpEndpoint(settings.cors_allowed_origins)
    routes.append(Route("/mcp", mcp, methods=["GET", "POST", "DELETE"]))
    routes.extend(web.routes())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with running(root, on_failure=on_fatal):
            logger.info("ready", extra={"role": settings.role})
            library = documents.library if documents else None
            knowledge: Knowledge | None = library
            asks = runs(settings.role, "rag") or runs(settings.role, "terminals")
            if knowledge is None and client is not None and asks:
                knowledge = RemoteLibrary(settings.role_url("documents"), client)
            areas = Catalog(stores.mongo) if stores else None
            sealer = Sealer.from_settings(settings) if stores else None
            llm = Providers(stores.mongo, sealer, settings) if stores and sealer else None
            if stores and sealer and runs(settings.role, "context"):
                await _reseal(stores, sealer)
            rag = (
                Answerer(knowledge, stores.mongo, llm, settings, metrics)
                if knowledge and stores and llm
                else None
            )
            contexts = Contexts(areas) if areas else None
            if gateway is not None:
                gateway.answerer = rag
            if terminals is not None:
                terminals.terminals.library = library
                # `aiss serve` calls it before closing sockets (aiss/__main__.py).
                app.state.drain = partial(terminals.terminals.drain, settings.shutdown_timeout / 2)
            state = AppState(
                settings,
                root,
                metrics,
                document,
                stores,
                users,
                embeddings,
                library,
                knowledge,
                areas,
                llm,
                rag,
                contexts,
                terminals.terminals if terminals else None,
            )
            try:
                async with mcp.sessions.run():
                    yield {"aiss": state}
            finally:
                if client is not None:
                    await client.aclose()
        logger.info("stopped")

    origins = list(settings.cors_allowed_origins)
    middleware = [
        Middleware(RequestContext, metrics=metrics),
        Middleware(SecurityHeaders),
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials="*" not in origins,
            expose_headers=["X-Request-ID", "Retry-After"],
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            AissError: _on_error,
            ActorError: _on_error,
            HTTPException: _on_error,
            Exception: _on_error,
        },
        lifespan=lifespan,
    )


async def _reseal(stores: Stores, sealer: Sealer) -> None:
    """Secrets sealed by an earlier version, under the current key; never stops a start."""
    try:
        with anyio.fail_after(10), stores.mongo.breaker.guard():
            count = await reseal(stores.mongo, sealer)
    except Exception:
        logger.warning("sealed secrets not migrated now; next start tries again", exc_info=True)
        return
    if count:
        logger.info("sealed secrets migrated to the derived key", extra={"records": count})
