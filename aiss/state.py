"""What the lifespan hands to routes: the one typed state object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

    from actors import Supervisor

    from .config import Settings
    from .metrics import Metrics
    from .storage.stores import Stores


@dataclass(frozen=True)
class AppState:
    settings: Settings
    root: Supervisor
    metrics: Metrics
    openapi: dict[str, Any]
    stores: Stores | None


def app_state(conn: HTTPConnection) -> AppState:
    return cast("AppState", conn.state.aiss)
