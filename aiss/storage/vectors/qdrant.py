"""Qdrant through qdrant-client: the async client for a server, or local mode.

Local mode (`QdrantClient(":memory:")` or a path) is synchronous and slow, so
its calls run in worker threads; it serves small tests only.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from qdrant_client import AsyncQdrantClient, QdrantClient
from qdrant_client import models as qm

from .base import KEYWORD_FIELDS, KEYWORDS, CollectionMismatch, Hit, Query

if TYPE_CHECKING:
    from collections.abc import Sequence
    from contextlib import AbstractContextManager

    from ..breaker import Breaker
    from .base import Distance, Point, VectorFilter
    from .keywords import SparseVector

_DISTANCES = {"cosine": qm.Distance.COSINE, "dot": qm.Distance.DOT, "euclid": qm.Distance.EUCLID}


def _conditions(group: Any) -> list[qm.Condition]:
    return [
        qm.FieldCondition(
            key=key,
            match=qm.MatchAny(any=list(value))
            if isinstance(value, tuple)
            else qm.MatchValue(value=value),
        )
        for key, value in group.items()
    ]


def _sparse(v: SparseVector) -> qm.SparseVector:
    return qm.SparseVector(indices=list(v.indices), values=list(v.values))


def qdrant_query(query: Query, limit: int, keywords: bool) -> dict[str, Any] | None:
    """The arguments of `query_points` for `query` (None: nothing can match), as
    `edge_query` builds them for the engine, so both backends rank alike."""
    mode = query.answered_by(keywords)
    if mode == "dense":
        return None if query.vector is None else {"query": list(query.vector)}
    assert query.keywords is not None
    sparse = _sparse(query.keywords)
    if mode == "sparse":
        return {"query": sparse, "using": KEYWORDS}
    assert query.vector is not None
    fusion = query.fusion
    depth = limit * fusion.depth
    fused: qm.FusionQuery | qm.RrfQuery = (
        qm.FusionQuery(fusion=qm.Fusion.DBSF)
        if fusion.method == "dbsf"
        else qm.RrfQuery(
            rrf=qm.Rrf(k=fusion.k, weights=[fusion.dense_weight, fusion.keyword_weight])
        )
    )
    return {
        "query": fused,
        "prefetch": [
            qm.Prefetch(query=list(query.vector), limit=depth, score_threshold=fusion.dense_floor),
            qm.Prefetch(query=sparse, using=KEYWORDS, limit=depth),
        ],
    }


def qdrant_filter(f: VectorFilter | None) -> qm.Filter | None:
    if f is None:
        return None
    should: list[qm.Condition] = [qm.Filter(must=_conditions(g)) for g in f.any]
    return qm.Filter(must=_conditions(f.all) or None, should=should or None)


class QdrantVectors:
    def __init__(
        self,
        client: AsyncQdrantClient | QdrantClient,
        *,
        breaker: Breaker | None = None,
        payload_indexes: bool = True,
    ) -> None:
        self._client = client
        self._breaker = breaker
        # Local mode ignores payload indexes and warns about them.
        self._payload_indexes = payload_indexes
        self._keywords: dict[str, bool] = {}

    def _guard(self) -> AbstractContextManager[None]:
        return self._breaker.guard() if self._breaker is not None else nullcontext()

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        function = getattr(self._client, method)
        with self._guard():
            if isinstance(self._client, AsyncQdrantClient):
                return await function(*args, **kwargs)
            return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))

    async def close(self) -> None:
        await self._call("close")

    async def resolve(self, name: str) -> str:
        aliases = await self._call("get_aliases")
        for alias in aliases.aliases:
            if alias.alias_name == name:
                return str(alias.collection_name)
        return name

    async def create_collection(
        self, name: str, dimension: int, distance: Distance = "cosine", *, keywords: bool = True
    ) -> None:
        if await self._call("collection_exists", name):
            info = await self._call("get_collection", name)
            params = info.config.params.vectors
            if params.size != dimension or params.distance != _DISTANCES[distance]:
                raise CollectionMismatch(
                    f"{name!r} exists with {params.size} dimensions and {params.distance}"
                )
            return
        await self._call(
            "create_collection",
            name,
            vectors_config=qm.VectorParams(size=dimension, distance=_DISTANCES[distance]),
            sparse_vectors_config={KEYWORDS: qm.SparseVectorParams(modifier=qm.Modifier.IDF)}
            if keywords
            else None,
        )
        if self._payload_indexes:
            for key in KEYWORD_FIELDS:
                await self._call(
                    "create_payload_index", name, key, field_schema=qm.PayloadSchemaType.KEYWORD
                )

    async def delete_collection(self, name: str) -> None:
        real = await self.resolve(name)
        self._keywords.pop(real, None)
        await self._call("delete_collection", real)

    async def has_keywords(self, name: str) -> bool:
        real = await self.resolve(name)
        known = self._keywords.get(real)
        if known is None:
            info = await self._call("get_collection", real)
            known = KEYWORDS in (info.config.params.sparse_vectors or {})
            self._keywords[real] = known
        return known

    async def collections(self) -> list[str]:
        listed = await self._call("get_collections")
        return sorted(c.name for c in listed.collections)

    async def point_alias(self, alias: str, collection: str) -> None:
        if not await self._call("collection_exists", collection):
            raise KeyError(f"no collection {collection!r}")
        changes: list[Any] = []
        if await self.resolve(alias) != alias:
            changes.append(qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias)))
        changes.append(
            qm.CreateAliasOperation(
                create_alias=qm.CreateAlias(collection_name=collection, alias_name=alias)
            )
        )
        await self._call("update_collection_aliases", change_aliases_operations=changes)

    async def upsert(self, collection: str, points: Sequence[Point]) -> None:
        if not points:
            return
        keywords = await self.has_keywords(collection)
        structs = [
            qm.PointStruct(
                id=p.id,
                vector={"": list(p.vector), KEYWORDS: _sparse(p.keywords)}
                if keywords and p.keywords
                else list(p.vector),
                payload=dict(p.payload),
            )
            for p in points
        ]
        await self._call("upsert", collection, points=structs, wait=True)

    async def search(
        self,
        collection: str,
        query: Query | Sequence[float],
        *,
        limit: int = 10,
        filter: VectorFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[Hit]:
        if not isinstance(query, Query):
            query = Query(vector=query)
        keywords = await self.has_keywords(collection)
        arguments = qdrant_query(query, limit, keywords)
        if arguments is None:
            return []
        flt = qdrant_filter(filter)
        for prefetch in arguments.get("prefetch", ()):
            prefetch.filter = flt
        found = await self._call(
            "query_points",
            collection,
            **arguments,
            limit=limit,
            query_filter=flt,
            score_threshold=query.threshold(keywords, score_threshold),
            with_payload=True,
        )
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in found.points]

    async def delete(self, collection: str, filter: VectorFilter) -> None:
        selector = qm.FilterSelector(filter=qdrant_filter(filter))
        await self._call("delete", collection, points_selector=selector, wait=True)

    async def count(self, collection: str, filter: VectorFilter | None = None) -> int:
        result = await self._call(
            "count", collection, count_filter=qdrant_filter(filter), exact=True
        )
        return int(result.count)
