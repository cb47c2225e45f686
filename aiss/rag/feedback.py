"""Feedback on answers: the asker rates one (up or down, with a comment), administrators
read the counts per area and the questions rated down.

A rating lives on the question's record and replaces any earlier one. It
counts under each area of the sources the answer cited (the areas were kept
when the answer was recorded), under "personal" for personal documents, and
under "none" when the answer had no source.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from beanie import PydanticObjectId
from pymongo import ReturnDocument

from ..errors import NotFound
from ..storage.models import Area, RagQuery
from .prompt import PERSONAL

if TYPE_CHECKING:
    from ..storage.mongo import MongoStore
    from ..users.views import Principal

Rating = Literal["up", "down"]
NONE: Final = "none"  # where answers without sources count
NAMES: Final = {PERSONAL: "Personal documents", NONE: "No source"}


@dataclass(frozen=True, slots=True)
class AreaCount:
    area_id: str  # an area's id, "personal" or "none"
    name: str  # empty for an area deleted since
    up: int
    down: int


async def rate(
    mongo: MongoStore, principal: Principal, query_id: str, rating: Rating, comment: str
) -> RagQuery:
    """Store the caller's rating of their own question; NotFound for anyone else's."""
    if not PydanticObjectId.is_valid(query_id):
        raise NotFound("no such query")
    with mongo.breaker.guard():
        stored = await mongo.collection("rag_queries").find_one_and_update(
            {"_id": PydanticObjectId(query_id), "user_id": principal.user_id},
            {"$set": {"rating": rating, "comment": comment, "rated_at": time.time()}},
            return_document=ReturnDocument.AFTER,
        )
    if stored is None:
        raise NotFound("no such query")
    record: RagQuery = RagQuery.model_validate(stored)
    return record


async def counts(mongo: MongoStore) -> list[AreaCount]:
    """Ratings per area, the most rated first."""
    up: Counter[str] = Counter()
    down: Counter[str] = Counter()
    with mongo.breaker.guard():
        rated = mongo.collection("rag_queries").find(
            {"rating": {"$in": ["up", "down"]}}, {"rating": 1, "cited_areas": 1}
        )
        async for record in rated:
            tally = up if record["rating"] == "up" else down
            for area in record.get("cited_areas") or [NONE]:
                tally[str(area)] += 1
        ids = [PydanticObjectId(a) for a in up | down if PydanticObjectId.is_valid(a)]
        areas = await Area.find({"_id": {"$in": ids}}).to_list() if ids else []
    names = NAMES | {str(a.id): a.name for a in areas}
    every = sorted(up | down, key=lambda a: (-(up[a] + down[a]), a))
    return [AreaCount(a, names.get(a, ""), up[a], down[a]) for a in every]


async def rated_up(mongo: MongoStore) -> int:
    """The answers rated up."""
    with mongo.breaker.guard():
        return await RagQuery.find(RagQuery.rating == "up").count()


async def down_voted(mongo: MongoStore, offset: int, limit: int) -> tuple[list[RagQuery], int]:
    """The questions rated down, the latest rating first."""
    with mongo.breaker.guard():
        found = RagQuery.find(RagQuery.rating == "down")
        total = await found.count()
        items = await found.sort("-rated_at").skip(offset).limit(limit).to_list()
    return items, total
