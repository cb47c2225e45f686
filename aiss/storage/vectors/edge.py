"""The embedded vector store: Qdrant's engine (qdrant-edge) in-process.

One shard per collection under `path`, each with its dimension and distance
beside it, and the aliases in one JSON file. Shard calls are blocking, so they
run in worker threads. Only one process may open a data directory.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from typing import TYPE_CHECKING, Any, TextIO

import anyio
import anyio.to_thread
import qdrant_edge as qe

from .base import KEYWORD_FIELDS, CollectionMismatch, Hit, VectorFilter

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from .base import Distance, Point


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


def edge_filter(f: VectorFilter | None) -> Any:
    if f is None:
        return None
    should: list[Any] = [qe.Filter(must=_conditions(group)) for group in f.any]
    return qe.Filter(must=_conditions(f.all) or None, should=should or None)


class EdgeVectors:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._shards: dict[str, Any] = {}
        self._aliases: dict[str, str] = {}
        self._lock = anyio.Lock()
        self._lockfile: TextIO | None = None

    # -- files -----------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        return self.path / "collections" / name

    def _meta(self, name: str) -> Path:
        return self.path / "collections" / f"{name}.json"

    def _save_aliases(self) -> None:
        tmp = self.path / "aliases.json.tmp"
        tmp.write_text(json.dumps(self._aliases))
        tmp.replace(self.path / "aliases.json")

    async def open(self) -> None:
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

    async def build_indexes(self, threshold: int = INDEX_THRESHOLD) -> dict[str, int]:
        """Index the collections holding at least `threshold` points not yet indexed.

        qdrant-edge builds its HNSW index only when asked, and holds the
        interpreter while it does (about 40 s per 100k points of 384
        dimensions on two cores), so this runs before the store is served:
        at start. Points added later go to a small segment searched exactly
        until the next start. Returns the points indexed per collection.
        """
        built: dict[str, int] = {}
        for name in await self.collections():
            shard = await self._shard(name)
            info = await anyio.to_thread.run_sync(shard.info)
            pending = int(info.points_count) - int(info.indexed_vectors_count)
            if pending >= max(1, threshold):
                await anyio.to_thread.run_sync(shard.optimize)
                after = await anyio.to_thread.run_sync(shard.info)
                # Segments under qdrant's indexing threshold (10 MB) stay plain.
                indexed = int(after.indexed_vectors_count) - int(info.indexed_vectors_count)
                if indexed:
                    built[name] = indexed
        return built

    async def close(self) -> None:
        shards, self._shards = self._shards, {}
        for shard in shards.values():
            await anyio.to_thread.run_sync(shard.flush)
            await anyio.to_thread.run_sync(shard.close)
        if self._lockfile is not None:
            self._lockfile.close()  # releases the lock
            self._lockfile = None

    # -- collections -----------------------------------------------------------

    async def resolve(self, name: str) -> str:
        return self._aliases.get(name, name)

    async def _shard(self, name: str) -> Any:
        real = await self.resolve(name)
        shard = self._shards.get(real)
        if shard is None:
            async with self._lock:
                shard = self._shards.get(real)
                if shard is None:
                    if not self._meta(real).exists():
                        raise KeyError(f"no collection {name!r}")
                    shard = await anyio.to_thread.run_sync(qe.EdgeShard.load, str(self._dir(real)))
                    self._shards[real] = shard
        return shard

    async def create_collection(
        self, name: str, dimension: int, distance: Distance = "cosine"
    ) -> None:
        async with self._lock:
            meta = self._meta(name)
            wanted = {"dimension": dimension, "distance": distance}
            if meta.exists():
                existing = json.loads(meta.read_text())
                if existing != wanted:
                    raise CollectionMismatch(f"{name!r} exists as {existing}, not {wanted}")
                return
            params = qe.EdgeVectorParams(size=dimension, distance=_DISTANCES[distance])

            def create() -> Any:
                shard = qe.EdgeShard.create(str(self._dir(name)), qe.EdgeConfig(vectors=params))
                for key in KEYWORD_FIELDS:
                    shard.update(
                        qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword)
                    )
                return shard

            self._shards[name] = await anyio.to_thread.run_sync(create)
            meta.write_text(json.dumps(wanted))

    async def delete_collection(self, name: str) -> None:
        async with self._lock:
            real = self._aliases.get(name, name)
            shard = self._shards.pop(real, None)
            if shard is not None:
                await anyio.to_thread.run_sync(shard.close)
            self._meta(real).unlink(missing_ok=True)
            await anyio.to_thread.run_sync(shutil.rmtree, self._dir(real), True)
            self._aliases = {a: c for a, c in self._aliases.items() if c != real}
            self._save_aliases()

    async def collections(self) -> list[str]:
        return sorted(p.stem for p in (self.path / "collections").glob("*.json"))

    async def point_alias(self, alias: str, collection: str) -> None:
        async with self._lock:
            if not self._meta(collection).exists():
                raise KeyError(f"no collection {collection!r}")
            self._aliases[alias] = collection
            self._save_aliases()

    # -- points ----------------------------------------------------------------

    async def upsert(self, collection: str, points: Sequence[Point]) -> None:
        if not points:
            return
        shard = await self._shard(collection)

        def write() -> None:
            # Converting in the worker keeps the event loop free for large batches.
            batch = [qe.Point(p.id, list(p.vector), dict(p.payload)) for p in points]
            shard.update(qe.UpdateOperation.upsert_points(batch))

        await anyio.to_thread.run_sync(write)

    async def search(
        self,
        collection: str,
        vector: Sequence[float],
        *,
        limit: int = 10,
        filter: VectorFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[Hit]:
        shard = await self._shard(collection)
        request = qe.SearchRequest(
            query=qe.Query.Nearest(list(vector)),
            limit=limit,
            filter=edge_filter(filter),
            with_payload=True,
            score_threshold=score_threshold,
        )
        found = await anyio.to_thread.run_sync(shard.search, request)
        return [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in found]

    async def delete(self, collection: str, filter: VectorFilter) -> None:
        shard = await self._shard(collection)
        operation = qe.UpdateOperation.delete_points_by_filter(edge_filter(filter))
        await anyio.to_thread.run_sync(shard.update, operation)

    async def count(self, collection: str, filter: VectorFilter | None = None) -> int:
        shard = await self._shard(collection)
        request = qe.CountRequest(exact=True, filter=edge_filter(filter))
        return int(await anyio.to_thread.run_sync(shard.count, request))
