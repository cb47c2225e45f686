"""The embedded vector store (qdrant-edge) at 10k and 100k points of 384 dimensions.

    python -m bench.vectors [--sizes 10000 100000] [--queries 300]

Upserts go through `EdgeVectors` in batches of 256; the baseline converts and
applies the same batches to a bare shard on the caller's thread. Searches ask for the
10 nearest points among one owner's (a tenth of them), one at a time and 16 at
once; the baseline is an exact numpy scan of the same filtered points.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import anyio
import numpy as np
import qdrant_edge as qe

from aiss.storage.vectors import Point, VectorFilter
from aiss.storage.vectors.edge import EdgeVectors

DIM = 384
BATCH = 256
OWNERS = 10


def corpus(n: int) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, [f"u{i % OWNERS}" for i in range(n)]


def points(vectors: np.ndarray, owners: list[str], start: int, stop: int) -> list[Point]:
    return [
        Point(str(uuid.UUID(int=i + 1)), vectors[i].tolist(), {"owner_id": owners[i]})
        for i in range(start, stop)
    ]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


async def bench(n: int, queries: int, root: Path) -> dict[str, float]:
    vectors, owners = corpus(n)
    batches = [points(vectors, owners, s, min(s + BATCH, n)) for s in range(0, n, BATCH)]

    # Baseline upsert: a bare shard, no worker threads, no conversion of our types.
    shard = qe.EdgeShard.create(
        str(root / "bare"),
        qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=DIM, distance=qe.Distance.Cosine)),
    )
    started = time.perf_counter()
    for batch in batches:
        raw = [qe.Point(p.id, list(p.vector), dict(p.payload)) for p in batch]
        shard.update(qe.UpdateOperation.upsert_points(raw))
    bare_rate = n / (time.perf_counter() - started)
    shard.close()

    store = EdgeVectors(root / "store")
    await store.open()
    await store.create_collection("bench", DIM)
    started = time.perf_counter()
    for batch in batches:
        await store.upsert("bench", batch)
    rate = n / (time.perf_counter() - started)

    rng = np.random.default_rng(11)
    asks = [(int(rng.integers(n)), f"u{int(rng.integers(OWNERS))}") for _ in range(queries)]

    async def one(i: int, owner: str) -> float:
        started = time.perf_counter()
        await store.search(
            "bench", vectors[i], limit=10, filter=VectorFilter(all={"owner_id": owner})
        )
        return (time.perf_counter() - started) * 1000

    sequential = [await one(i, owner) for i, owner in asks]
    concurrent: list[float] = []

    async def client(part: list[tuple[int, str]]) -> None:
        for i, owner in part:
            concurrent.append(await one(i, owner))

    async with anyio.create_task_group() as tg:
        for k in range(16):
            tg.start_soon(client, asks[k::16])
    await store.close()

    masks = {f"u{o}": np.array([x == f"u{o}" for x in owners]) for o in range(OWNERS)}
    scan: list[float] = []
    for i, owner in asks:
        started = time.perf_counter()
        subset = vectors[masks[owner]]
        scores = subset @ vectors[i]
        np.argpartition(-scores, 10)[:10]
        scan.append((time.perf_counter() - started) * 1000)

    return {
        "upsert": rate,
        "bare upsert": bare_rate,
        "p50": statistics.median(sequential),
        "p99": percentile(sequential, 99),
        "c16 p50": statistics.median(concurrent),
        "c16 p99": percentile(concurrent, 99),
        "scan p50": statistics.median(scan),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    print(
        f"| {'points':>7} | upserts/s | bare shard/s | ratio | search p50 ms | p99 ms "
        f"| 16 at once p50 ms | p99 ms | numpy scan p50 ms | p50 ratio |"
    )
    print(
        "|--------:|----------:|-------------:|------:|--------------:|-------:"
        "|------------------:|-------:|------------------:|----------:|"
    )
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            r = anyio.run(bench, n, args.queries, Path(tmp))
        print(
            f"| {n:>7,} | {r['upsert']:>9,.0f} | {r['bare upsert']:>12,.0f} "
            f"| {r['upsert'] / r['bare upsert']:5.2f} | {r['p50']:>13.2f} | {r['p99']:>6.2f} "
            f"| {r['c16 p50']:>17.2f} | {r['c16 p99']:>6.2f} | {r['scan p50']:>17.2f} "
            f"| {r['p50'] / r['scan p50']:9.2f} |"
        )


if __name__ == "__main__":
    main()
