"""MCP contexts under /api/v1/contexts: one per readable area, switched on and off."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel
from starlette.routing import Route

from ..api import endpoint
from ..state import app_state, served

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..mcp.contexts import Contexts, ContextView
    from ..users.views import Principal

API = "/api/v1/contexts"


class McpContextView(BaseModel):
    area_id: str
    name: str
    description: str
    active: bool

    @classmethod
    def of(cls, view: ContextView) -> McpContextView:
        return cls(
            area_id=view.area_id, name=view.name, description=view.description, active=view.active
        )


class McpContextList(BaseModel):
    items: list[McpContextView]


def contexts(request: Request) -> Contexts:
    return served(app_state(request).contexts, "contexts")


@endpoint(responses={200: McpContextList}, auth="user", tags=["mcp"])
async def list_contexts(request: Request, principal: Principal) -> McpContextList:
    """Your MCP contexts: one per active area you may read; active ones scope the MCP tools."""
    found = await contexts(request).all(principal)
    return McpContextList(items=[McpContextView.of(c) for c in found])


@endpoint(responses={200: McpContextView}, errors=[404], auth="user", tags=["mcp"])
async def activate(request: Request, principal: Principal) -> McpContextView:
    """Make the MCP tools search this area (with your other active ones)."""
    area_id = str(request.path_params["area_id"])
    return McpContextView.of(await contexts(request).set(principal, area_id, True))


@endpoint(responses={200: McpContextView}, errors=[404], auth="user", tags=["mcp"])
async def deactivate(request: Request, principal: Principal) -> McpContextView:
    """Stop the MCP tools searching this area."""
    area_id = str(request.path_params["area_id"])
    return McpContextView.of(await contexts(request).set(principal, area_id, False))


def routes() -> list[Route]:
    return [
        Route(API, list_contexts, methods=["GET"]),
        Route(f"{API}/{{area_id}}/activate", activate, methods=["POST"]),
        Route(f"{API}/{{area_id}}/deactivate", deactivate, methods=["POST"]),
    ]
