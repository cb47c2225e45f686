"""What the lifespan hands to routes: the one typed state object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .errors import ServiceUnavailable

T = TypeVar("T")

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from actors import Supervisor

    from .areas.catalog import Catalog
    from .config import Settings
    from .documents.knowledge import Knowledge
    from .documents.library import Library
    from .embedding.tree import Embeddings
    from .llm.providers import Providers
    from .mcp.contexts import Contexts
    from .metrics import Metrics
    from .rag.answer import Answerer
    from .storage.stores import Stores
    from .terminals.manager import Terminals
    from .users.service import Users
    from .users.views import Principal


@dataclass(frozen=True)
class AppState:
    settings: Settings
    root: Supervisor
    metrics: Metrics
    openapi: dict[str, Any]
    stores: Stores | None
    users: Users | None
    embeddings: Embeddings | None
    documents: Library | None
    knowledge: Knowledge | None  # the library here, or the documents role over HTTP
    areas: Catalog | None
    providers: Providers | None
    rag: Answerer | None
    contexts: Contexts | None
    terminals: Terminals | None

    async def authenticate(self, request: HTTPConnection) -> Principal:
        return await served(self.users, "users").authenticate(request)


def served(part: T | None, what: str) -> T:
    """A part of the app, or 503 when this process's role does not run it."""
    if part is None:
        raise ServiceUnavailable(f"this process does not serve {what}")
    return part


def app_state(conn: HTTPConnection) -> AppState:
    return cast("AppState", conn.state.aiss)
