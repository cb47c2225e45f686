"""MCP contexts: one per area a user may read; the active ones scope the MCP tools."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..storage.models import McpContext

if TYPE_CHECKING:
    from ..areas.catalog import Catalog
    from ..users.views import Principal


@dataclass(frozen=True)
class ContextView:
    area_id: str
    name: str
    description: str
    active: bool


class Contexts:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def all(self, principal: Principal) -> list[ContextView]:
        areas, _ = await self.catalog.find(principal, active=True, offset=0, limit=10_000)
        with self.catalog.mongo.breaker.guard():
            states = await McpContext.find(McpContext.user_id == principal.user_id).to_list()
        active = {s.area_id for s in states if s.active}
        return [ContextView(str(a.id), a.name, a.description, str(a.id) in active) for a in areas]

    async def set(self, principal: Principal, area_id: str, active: bool) -> ContextView:
        """Activate or deactivate; NotFound for an area the caller may not read."""
        area = await self.catalog.get(principal, area_id)
        with self.catalog.mongo.breaker.guard():
            await self.catalog.mongo.collection("mcp_contexts").update_one(
                {"user_id": principal.user_id, "area_id": area_id},
                {"$set": {"active": active, "updated_at": time.time()}},
                upsert=True,
            )
        return ContextView(area_id, area.name, area.description, active)

    async def scope(self, principal: Principal, area_ids: list[str] | None) -> list[str] | None:
        """The areas a tool searches: those named, else the active contexts, else all."""
        if area_ids:
            return area_ids
        active = [c.area_id for c in await self.all(principal) if c.active]
        return active or None
