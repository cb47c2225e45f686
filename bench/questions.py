"""Questions while documents ingest: latency idle against latency beside ingestion.

    python -m bench.questions [--documents 60] [--seconds 10]

One `aiss serve` on embedded defaults, its own process, over loopback. Three
clients ask back to back: `POST /api/v1/search`, `POST /api/v1/rag/query`
(extractive, no LLM) and `GET /health`. First for `--seconds` on an index of a
few notes (idle), then while `--documents` documents ingest: man pages of
20-90 KB from this machine when it has them (as the probe that found the
problem used), else generated text of the same sizes. Prints p50 and p99 of
each in both phases, their ratio, and how long ingestion took.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.terminal_client import PASSWORD
from tests.servers import aiss_serve, serve_env

QUESTIONS = [
    "how do I list files sorted by size",
    "which option follows symbolic links",
    "how to print the version",
    "what does the verbose flag do",
    "how can I read options from a file",
    "how do I change the output format",
]


def man_pages(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """Up to `count` man pages of 20-90 KB (uncompressed roff, a text format)."""
    found = []
    for path in sorted(Path("/usr/share/man/man1").glob("*.gz")):
        try:
            text = gzip.decompress(path.read_bytes())
        except (OSError, EOFError):
            continue
        if 20_000 <= len(text) <= 90_000:
            found.append((path.name.removesuffix(".gz") + ".txt", text))
    rng.shuffle(found)
    return found[:count]


def generated(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    words = [
        "option",
        "file",
        "output",
        "format",
        "link",
        "size",
        "version",
        "verbose",
        "read",
        "list",
        "sort",
        "print",
    ]
    docs = []
    for n in range(count):
        size = rng.randint(20_000, 90_000)
        text = " ".join(rng.choice(words) for _ in range(size // 6))
        docs.append((f"generated-{n}.txt", text.encode()))
    return docs


class Asker:
    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers
        self.took: dict[str, list[float]] = {"search": [], "rag": [], "health": []}
        self.errors = 0

    async def one(self, kind: str, n: int) -> None:
        question = QUESTIONS[n % len(QUESTIONS)] + f" ({n})"
        started = time.perf_counter()
        if kind == "search":
            response = await self.http.post(
                "/api/v1/search", json={"query": question}, headers=self.headers
            )
        elif kind == "rag":
            response = await self.http.post(
                "/api/v1/rag/query", json={"question": question}, headers=self.headers
            )
        else:
            response = await self.http.get("/health")
        took = time.perf_counter() - started
        if response.status_code == 200:
            self.took[kind].append(took)
        else:
            self.errors += 1

    async def ask(self, kind: str, stop: anyio.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            await self.one(kind, n)
            await anyio.sleep(0.01 if kind == "health" else 0)

    async def until(self, stop: anyio.Event) -> None:
        async with anyio.create_task_group() as tg:
            for kind in self.took:
                tg.start_soon(self.ask, kind, stop)


async def upload_all(
    http: httpx.AsyncClient, headers: dict[str, str], docs: list[tuple[str, bytes]]
) -> list[str]:
    ids = []
    for name, data in docs:
        response = await http.post(
            "/api/v1/documents", files={"file": (name, data)}, headers=headers
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


async def wait_ready(http: httpx.AsyncClient, headers: dict[str, str], ids: list[str]) -> int:
    pending, failed = set(ids), 0
    with anyio.fail_after(3600):
        while pending:
            for document_id in list(pending):
                body = (await http.get(f"/api/v1/documents/{document_id}", headers=headers)).json()
                if body["status"] in ("ready", "failed"):
                    pending.discard(document_id)
                    failed += body["status"] == "failed"
            await anyio.sleep(0.2)
    return failed


def row(name: str, idle: list[float], busy: list[float]) -> str:
    if not idle or not busy:
        return f"| {name} | no answers: {len(idle)} idle, {len(busy)} while ingesting |"
    i50, i99 = (np.percentile(idle, q) * 1000 for q in (50, 99))
    b50, b99 = (np.percentile(busy, q) * 1000 for q in (50, 99))
    return (
        f"| {name} | {i50:.1f} | {i99:.1f} | {b50:.1f} | {b99:.1f} | {b50 / i50:.1f}x"
        f" | {len(busy)} |"
    )


async def bench(args: argparse.Namespace, root: Path) -> None:
    tuning = {k: v for k, v in os.environ.items() if k.startswith("AISS_EMBED")}
    env = serve_env(root, PASSWORD, LOG_LEVEL="warning", **tuning)
    rng = random.Random(11)
    docs = man_pages(args.documents, rng)
    source = "man pages"
    if len(docs) < args.documents:
        docs, source = generated(args.documents, rng), "generated texts"
    async with aiss_serve(env, limits=httpx.Limits(max_connections=20)) as (_, http):
        login = await http.post(
            "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        notes = [(f"note-{n}.md", f"# Note {n}\n\n{q}: see the manual.".encode()) for n, q in
                 enumerate(QUESTIONS)]  # fmt: skip
        await wait_ready(http, headers, await upload_all(http, headers, notes))
        idle = Asker(http, headers)
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(idle.until, stop)
            await anyio.sleep(args.seconds)
            stop.set()
        busy = Asker(http, headers)
        stop = anyio.Event()
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            tg.start_soon(busy.until, stop)
            ids = await upload_all(http, headers, docs)
            failed = await wait_ready(http, headers, ids)
            stop.set()
        took = time.perf_counter() - started
        model = means((await http.get("/metrics")).text)
    size = sum(len(d) for _, d in docs) / 1e6
    print(
        f"{len(docs)} {source} ({size:.1f} MB) ingested in {took:.1f} s, {failed} failed;"
        f" errors idle {idle.errors}, busy {busy.errors}\n"
    )
    print("| ms | idle p50 | idle p99 | ingesting p50 | ingesting p99 | p50 ratio | n |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, name in (("search", "POST /search"), ("rag", "POST /rag/query"),
                       ("health", "GET /health")):  # fmt: skip
        print(row(name, idle.took[kind], busy.took[kind]))
    print("\nThe model over both phases (the server's histograms, mean ms):")
    for name, value in model.items():
        print(f"- {name}: {value:.1f}")


def means(metrics: str) -> dict[str, float]:
    """Mean queue wait and inference per lane, from the embedding histograms."""
    sums: dict[str, float] = {}
    for line in metrics.splitlines():
        for metric in ("queue_wait_seconds", "inference_seconds"):
            for lane in ("query", "ingest"):
                for part in ("sum", "count"):
                    prefix = f"aiss_embedding_{metric}_{part}{{"
                    if line.startswith(prefix) and f'lane="{lane}"' in line:
                        key = f"{lane} {metric.split('_')[0]}"
                        sums[f"{key} {part}"] = float(line.rsplit(" ", 1)[1])
    return {
        key: 1000 * sums[f"{key} sum"] / sums[f"{key} count"]
        for key in sorted({k.rsplit(" ", 1)[0] for k in sums})
        if sums.get(f"{key} count")
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(bench, args, Path(tmp))


if __name__ == "__main__":
    main()
