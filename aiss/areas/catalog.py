"""Reading and changing areas, with the permission rules of the users concern."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from beanie import PydanticObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from ..documents.access import readable_areas
from ..errors import Conflict, NotFound
from ..storage.models import Area, StoredDocument

if TYPE_CHECKING:
    from ..storage.mongo import MongoStore
    from ..users.views import Principal


class Catalog:
    def __init__(self, mongo: MongoStore) -> None:
        self.mongo = mongo

    async def find(
        self, principal: Principal, *, active: bool | None, offset: int, limit: int
    ) -> tuple[list[Area], int]:
        query: dict[str, Any] = {}
        areas = readable_areas(principal)
        if areas is not None:
            ids = [_object_id(a) for a in areas if PydanticObjectId.is_valid(a)]
            query["_id"] = {"$in": ids}
        if active is not None:
            query["active"] = active
        with self.mongo.breaker.guard():
            found = await Area.find(query).sort("name").to_list()
        return found[offset : offset + limit], len(found)

    async def get(self, principal: Principal, area_id: str) -> Area:
        """The area, or NotFound when it does not exist or the caller may not read it."""
        areas = readable_areas(principal)
        if areas is not None and area_id not in areas:
            raise NotFound("no such area")
        with self.mongo.breaker.guard():
            area = await Area.get(_object_id(area_id))
        if area is None:
            raise NotFound("no such area")
        return area

    async def create(self, fields: dict[str, Any]) -> Area:
        area = Area(**fields)
        try:
            with self.mongo.breaker.guard():
                await area.insert()
        except DuplicateKeyError:
            raise Conflict(f"an area named {fields['name']!r} exists") from None
        return area

    async def update(self, principal: Principal, area_id: str, fields: dict[str, Any]) -> Area:
        area = await self.get(principal, area_id)
        for name, value in fields.items():
            setattr(area, name, value)
        area.updated_at = time.time()
        try:
            with self.mongo.breaker.guard():
                await area.save()
        except DuplicateKeyError:
            raise Conflict(f"an area named {fields.get('name')!r} exists") from None
        return area

    async def delete(self, principal: Principal, area_id: str) -> None:
        area = await self.get(principal, area_id)
        with self.mongo.breaker.guard():
            held = await StoredDocument.find(StoredDocument.area_id == area_id).count()
            if held:
                raise Conflict(f"the area holds {held} documents; delete or move them first")
            await area.delete()


def _object_id(value: str) -> PydanticObjectId:
    try:
        return PydanticObjectId(value)
    except (InvalidId, TypeError):
        raise NotFound("no such area") from None
