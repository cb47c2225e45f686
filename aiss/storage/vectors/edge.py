"""The embedded vector store: Qdrant's engine (qdrant-edge), in a worker process.

One shard per collection under `path`, each with its dimension and distance
beside it, and the aliases in one JSON file. Only one process may open a data
directory. qdrant-edge holds the interpreter for the whole of a search or an
index build, so `EdgeShards` (blocking, one call at a time) runs in a worker
process of its own when served (`EdgeVectors` over a `Worker`), where it
cannot stall the server's loop; tools and tests may run it here, in one
thread at a time.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from typing import TYPE_CHECKING, Any, TextIO

import anyio
import anyio.to_thread
import qdrant_edge as qe

from .base import KEYWORD_FIELDS, KEYWORDS, CollectionMismatch, Hit, Query, VectorFilter

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ...workers.process import Worker
    from .base import Distance, Point
    from .keywords import SparseVector


INDEX_THRESHOLD = 20_000


class DataDirInUse(RuntimeError):
    """Another process holds this vector data directory; one process owns it."""


_DISTANCES = {"cosine": qe.Distance.Cosine, "dot": qe.Distance.Dot, "euclid": qe.Distance.Euclid}


def _conditions(group: Any) -> list[Any]:
    return [
        qe.FieldCondition(
            key,
            match=qe.MatchAny(list(value)) if isinstance(value, tuple) else qe.MatchValue(value),
        )
        for key, value in group.items()
    ]


def _sparse(v: SparseVector) -> Any:
    return qe.SparseVector(list(v.indices), list(v.values))


def _vector(point: Point, keywords: bool) -> Any:
    if keywords and point.keywords:
        return {"": list(point.vector), KEYWORDS: _sparse(point.keywords)}
    return {"": list(point.vector)} if keywords else list(point.vector)


def edge_query(query: Query, limit: int, keywords: bool, flt: Any) -> tuple[Any, list[Any]]:
    """The engine's scoring query and prefetches for `query`; a collection without
    keyword vectors answers every mode by its dense vector, when it has one. A fused
    query filters its prefetches: the fusion sees only what they found."""
    mode = query.answered_by(keywords)
    if mode == "dense":
        if query.vector is None:
            return None, []
        return qe.Query.Nearest(list(query.vector)), []
    assert query.keywords is not None
    sparse = qe.Query.Nearest(_sparse(query.keywords), using=KEYWORDS)
    if mode == "sparse":
        return sparse, []
    assert query.vector is not None
    fusion = query.fusion
    depth = limit * fusion.depth
    prefetches = [
        qe.Prefetch(
            depth,
            query=qe.Query.Nearest(list(query.vector)),
            filter=flt,
            score_threshold=fusion.dense_floor,
        ),
        qe.Prefetch(depth, query=sparse, filter=flt),
    ]
    if fusion.method == "dbsf":
        return qe.Fusion.Dbsf(), prefetches
    weights = [fusion.dense_weight, fusion.keyword_weight]
    return qe.Fusion.Rrf(k=fusion.k, weights=weights), prefetches


def edge_filter(f: VectorFilter | None) -> Any:
    if f is None:
        return None
    should: list[Any] = [qe.Filter(must=_conditions(group)) for group in f.any]
    return qe.Filter(must=_conditions(f.all) or None, should=should or None)


class EdgeShards:
    """The engine's shards of one data directory; blocking calls, one at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._shards: dict[str, Any] = {}
        self._aliases: dict[str, str] = {}
        self._keywords: dict[str, bool] = {}
        self._lockfile: TextIO | None = None

    @classmethod
    def opened(cls, path: Path) -> EdgeShards:
        shards = cls(path)
        shards.open()
        return shards

    def __repr__(self) -> str:
        return f"qdrant-edge {self.path}"

    # -- files -----------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        return self.path / "collections" / name

    def _meta(self, name: str) -> Path:
        return self.path / "collections" / f"{name}.json"

    def _save_aliases(self) -> None:
        tmp = self.path / "aliases.json.tmp"
        tmp.write_text(json.dumps(self._aliases))
        tmp.replace(self.path / "aliases.json")

    def open(self) -> None:
        (self.path / "collections").mkdir(parents=True, exist_ok=True)
        self._lockfile = (self.path / ".lock").open("w")
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lockfile.close()
            raise DataDirInUse(f"{self.path} is in use by another process") from None
        aliases = self.path / "aliases.json"
        if aliases.exists():
            self._aliases = json.loads(aliases.read_text())

    def build_indexes(self, threshold: int = INDEX_THRESHOLD) -> dict[str, int]:
        """Index the collections holding at least `threshold` points not yet indexed.

        qdrant-edge builds its HNSW index only when asked (about 40 s per 100k
        points of 384 dimensions on two cores), so this runs before the store
        is served: at start. Points added later go to a small segment searched
        exactly until the next start. Returns the points indexed per collection.
        """
        built: dict[str, int] = {}
        for name in self.collections():
            shard = self._shard(name)
            info = shard.info()
            pending = int(info.points_count) - int(info.indexed_vectors_count)
            if pending >= max(1, threshold):
                shard.optimize()
                after = shard.info()
                # Segments under qdrant's indexing threshold (10 MB) stay plain.
                indexed = int(after.indexed_vectors_count) - int(info.indexed_vectors_count)
                if indexed:
                    built[name] = indexed
        return built

    def close(self) -> None:
        shards, self._shards = self._shards, {}
        for shard in shards.values():
            shard.flush()
            shard.close()
        if self._lockfile is not None:
            self._lockfile.close()  # releases the lock
            self._lockfile = None

    # -- collections -----------------------------------------------------------

    def resolve(self, name: str) -> str:
        return self._aliases.get(name, name)

    def _shard(self, name: str) -> Any:
        real = self.resolve(name)
        shard = self._shards.get(real)
        if shard is None:
            if not self._meta(real).exists():
                raise KeyError(f"no collection {name!r}")
            shard = self._shards[real] = qe.EdgeShard.load(str(self._dir(real)))
        return shard

    def create_collection(
        self, name: str, dimension: int, distance: Distance = "cosine", keywords: bool = True
    ) -> None:
        meta = self._meta(name)
        wanted = {"dimension": dimension, "distance": distance}
        if meta.exists():
            existing = json.loads(meta.read_text())
            if {k: existing.get(k) for k in wanted} != wanted:
                raise CollectionMismatch(f"{name!r} exists as {existing}, not {wanted}")
            return
        params = qe.EdgeVectorParams(size=dimension, distance=_DISTANCES[distance])
        sparse = {KEYWORDS: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)}
        config = qe.EdgeConfig(vectors=params, sparse_vectors=sparse if keywords else None)
        shard = qe.EdgeShard.create(str(self._dir(name)), config)
        for key in KEYWORD_FIELDS:
            shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword))
        self._shards[name] = shard
        meta.write_text(json.dumps({**wanted, KEYWORDS: keywords}))

    def has_keywords(self, name: str) -> bool:
        """Whether `name` stores keyword vectors (collections made before them do not)."""
        real = self.resolve(name)
        known = self._keywords.get(real)
        if known is None:
            meta = self._meta(real)
            known = meta.exists() and bool(json.loads(meta.read_text()).get(KEYWORDS))
            self._keywords[real] = known
        return known

    def delete_collection(self, name: str) -> None:
        real = self._aliases.get(name, name)
        shard = self._shards.pop(real, None)
        self._keywords.pop(real, None)
        if shard is not None:
            shard.close()
        self._meta(real).unlink(missing_ok=True)
        shutil.rmtree(self._dir(real), ignore_errors=True)
        self._aliases = {a: c for a, c in self._aliases.items() if c != real}
        self._save_aliases()

    def collections(self) -> list[str]:
        return sorted(p.stem for p in (self.path / "collections").glob("*.json"))

    def point_alias(self, alias: str, collection: str) -> None:
        if not self._meta(collection).exists():
            raise KeyError(f"no collection {collection!r}")
        self._aliases[alias] = collection
        self._save_aliases()

    # -- points ----------------------------------------------------------------

    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        if not points:
            return
        shard = self._shard(collection)
        keywords = self.has_keywords(collection)
        batch = [qe.Point(p.id, _vector(p, keywords), dict(p.payload)) for p in points]
        shard.update(qe.UpdateOperation.upsert_points(batch))

    def search(
        self,
        collection: str,
        query: Query | Sequence[float],
        limit: int = 10,
        filter: VectorFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[Hit]:
        if not isinstance(query, Query):
            query = Query(vector=query)
        flt = edge_filter(filter)
        keywords = self.has_keywords(collection)
        scoring, prefetches = edge_query(query, limit, keywords, flt)
        if scoring is None:
            return []  # keywords alone, in a collection that has none
        request = qe.QueryRequest(
            limit=limit,
            query=scoring,
            prefetches=prefetches or None,
            filter=None if prefetches else flt,
            with_payload=True,
            score_threshold=query.threshold(keywords, score_threshold),
        )
        found = self._shard(collection).query(request)
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in found]

    def delete(self, collection: str, filter: VectorFilter) -> None:
        operation = qe.UpdateOperation.delete_points_by_filter(edge_filter(filter))
        self._shard(collection).update(operation)

    def count(self, collection: str, filter: VectorFilter | None = None) -> int:
        request = qe.CountRequest(exact=True, filter=edge_filter(filter))
        return int(self._shard(collection).count(request))


class EdgeVectors:
    """`EdgeShards` as a `VectorStore`: in `worker` (a process opened on the same
    directory), or without one here, one call at a time in a worker thread."""

    def __init__(self, path: Path, worker: Worker | None = None) -> None:
        self.path = path
        self._worker = worker
        self._here = EdgeShards(path)
        self._one = anyio.CapacityLimiter(1)

    async def _call(self, method: str, *args: Any) -> Any:
        if self._worker is not None:
            return await self._worker.call(method, *args)
        call = getattr(self._here, method)
        return await anyio.to_thread.run_sync(call, *args, limiter=self._one)

    async def open(self) -> None:
        if self._worker is None:  # a worker opened its own when it started
            await self._call("open")

    async def build_indexes(self, threshold: int = INDEX_THRESHOLD) -> dict[str, int]:
        built: dict[str, int] = await self._call("build_indexes", threshold)
        return built

    async def close(self) -> None:
        if self._worker is None:  # a worker closes its own when it stops
            await self._call("close")

    async def resolve(self, name: str) -> str:
        return str(await self._call("resolve", name))

    async def create_collection(
        self, name: str, dimension: int, distance: Distance = "cosine", *, keywords: bool = True
    ) -> None:
        await self._call("create_collection", name, dimension, distance, keywords)

    async def delete_collection(self, name: str) -> None:
        await self._call("delete_collection", name)

    async def collections(self) -> list[str]:
        names: list[str] = await self._call("collections")
        return names

    async def point_alias(self, alias: str, collection: str) -> None:
        await self._call("point_alias", alias, collection)

    async def has_keywords(self, name: str) -> bool:
        return bool(await self._call("has_keywords", name))

    async def upsert(self, collection: str, points: Sequence[Point]) -> None:
        if points:
            await self._call("upsert", collection, list(points))

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
            query = Query(vector=list(query))
        hits: list[Hit] = await self._call(
            "search", collection, query, limit, filter, score_threshold
        )
        return hits

    async def delete(self, collection: str, filter: VectorFilter) -> None:
        await self._call("delete", collection, filter)

    async def count(self, collection: str, filter: VectorFilter | None = None) -> int:
        return int(await self._call("count", collection, filter))
