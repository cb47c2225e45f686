from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import given
from hypothesis import strategies as st
from starlette.routing import Route, WebSocketRoute

from aiss.app import create_app
from aiss.config import ROLE_PORTS
from aiss.proxy.table import role_for, session_of

if TYPE_CHECKING:
    from aiss.config import Settings


def test_every_api_route_has_a_role(settings: Settings) -> None:
    app = create_app(settings)
    paths = [
        route.path
        for route in app.routes
        if isinstance(route, (Route, WebSocketRoute))
        and route.path.startswith(("/api/", "/v1/", "/mcp"))
    ]
    assert len(paths) > 50
    for path in paths:
        assert role_for(path) in ROLE_PORTS, path


def test_prefixes_end_at_a_segment() -> None:
    assert role_for("/api/v1/users/me") == "users"
    assert role_for("/api/v1/usersx") is None
    assert role_for("/api/v1/terminal/sessions/abc/stream") == "terminal-sessions"
    assert role_for("/api/v1/admin/reindex") == "documents"
    assert role_for("/internal/v1/embed") is None


def test_session_paths() -> None:
    assert session_of("/api/v1/terminal/sessions/abc") == "abc"
    assert session_of("/api/v1/terminal/sessions/abc/ticket") == "abc"
    assert session_of("/api/v1/terminal/sessions") is None
    assert session_of("/api/v1/terminal/sessions/") is None
    assert session_of("/api/v1/terminal/commands/abc") is None


@given(st.lists(st.text(alphabet="abc/-_.%", max_size=12), max_size=6))
def test_session_of_names_one_segment_of_a_session_path(parts: list[str]) -> None:
    path = "/" + "/".join(parts)
    found = session_of(path)
    if found is not None:
        assert "/" not in found and found
        assert path.startswith(f"/api/v1/terminal/sessions/{found}")
