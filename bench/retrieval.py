"""Retrieval quality on git's manual: AISS's search against BM25, dense and RRF baselines.

    python -m bench.retrieval [--documents N] [--modes dense,sparse,hybrid] [--limit 40]
                              [--concurrency 1] [--json PATH] [--data DIR]

The corpus is every HTML page of Debian's git-doc package (/usr/share/doc/git-doc,
`apt-get install git-doc`; a symlink to another page is uploaded once), or with
`--documents N` the first N by name plus every page a question names. One
`aiss serve` on embedded defaults ingests them as the administrator's personal
documents (4 uploads in flight, timed until all are ready). The questions,
bench/retrieval_questions.json, were written from the pages' text before any
method ran: 22 easy (the command is named), 22 medium (the task is described),
22 hard (an option's behaviour in other words), each with every page that answers
it and the phrase that does; git.html's one-line list of all commands is not
counted as an answer.

The baselines index the very chunks AISS made, read back from
/documents/{id}/chunks: BM25 (bm25s with English stop words and Snowball's English
stemmer), dense (AISS's model for personal documents through /api/v1/embeddings,
cosine) and their reciprocal rank fusion (k=60, each one's top 100). AISS answers
through POST /api/v1/search with no mode (its default) and with each of --modes
(n/a where the server has no `mode` field or answers 422). Every method's ranking
is cut at --limit chunks and read as documents, each at its first chunk (an AISS
hit's document, then the documents its `also_in` says repeat the passage; the
row "also_in not read" leaves those out); per
question R@5 and R@10 are the share of its relevant pages among the first 5 and
10, MRR@10 is 1/rank of the first relevant page. p50 ms is per query: the HTTP
search for AISS, the retrieval itself for the baselines (dense includes the
query's embedding request; the RRF row times the fusion alone).

With `--data DIR` the server keeps its data there: a later run on the same DIR
skips the upload and ingestion (to measure a change at query time), and the
baseline's chunk vectors are kept there too.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.retrieval_methods import RRF_DEPTH, Bm25, Run, dense_top, rrf
from bench.terminal_client import PASSWORD
from tests.servers import aiss_serve, serve_env

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

DOCS = Path("/usr/share/doc/git-doc")
QUESTIONS = Path(__file__).with_name("retrieval_questions.json")
BASELINES = ("bm25", "dense", "rrf(bm25,dense)")
GROUPS = ("easy", "medium", "hard")
UPLOADS_IN_FLIGHT = 4
EMBED_BATCH = 64
Chunk = tuple[str, int, str]  # document id, index, text
Question = dict[str, Any]  # id, difficulty, question, relevant, why


def corpus(count: int | None, questions: list[Question]) -> list[Path]:
    if not DOCS.is_dir():
        raise SystemExit(f"{DOCS} is missing: apt-get install git-doc")
    unique: dict[Path, Path] = {}
    for path in sorted(DOCS.glob("*.html")):
        unique.setdefault(path.resolve(), path)  # index.html is a link to git.html
    files = list(unique.values())
    needed = {name for q in questions for name in q["relevant"]}
    if missing := needed - {f.name for f in files}:
        raise SystemExit(f"pages named by questions are not in {DOCS}: {sorted(missing)}")
    return [f for n, f in enumerate(files) if count is None or n < count or f.name in needed]


async def each(questions: list[Question], ask: Callable[[Question], Awaitable[None]],
               concurrency: int) -> None:  # fmt: skip
    slots = anyio.Semaphore(concurrency)

    async def one(question: Question) -> None:
        async with slots:
            await ask(question)

    async with anyio.create_task_group() as tg:
        for question in questions:
            tg.start_soon(one, question)


@dataclass
class Server:
    """One `aiss serve` as its administrator, and the file name of each document id."""

    http: httpx.AsyncClient
    auth: dict[str, str]
    names: dict[str, str]

    async def get(self, url: str, **params: int) -> Any:
        response = await self.http.get(url, params=params, headers=self.auth)
        response.raise_for_status()
        return response.json()

    async def uploaded(self, files: list[Path]) -> bool:
        """Whether a kept data dir holds these documents already (then names them)."""
        docs = await self.paged("/api/v1/documents")
        if not docs:
            return False
        by_name = {d["filename"]: d["id"] for d in docs}
        if {f.name for f in files} != set(by_name):
            raise SystemExit("the data dir holds other documents than this corpus")
        self.names.update({i: name for name, i in by_name.items()})
        return True

    async def upload(self, files: list[Path]) -> None:
        slots = anyio.Semaphore(UPLOADS_IN_FLIGHT)

        async def one(path: Path) -> None:
            async with slots:
                form = {"file": (path.name, await anyio.Path(path).read_bytes())}
                response = await self.http.post("/api/v1/documents", files=form, headers=self.auth)
            if response.status_code != 202:
                raise RuntimeError(f"{path.name}: {response.status_code} {response.text}")
            body = response.json()
            if body["duplicate"]:
                raise RuntimeError(f"{path.name} duplicates {self.names.get(body['id'])}")
            self.names[body["id"]] = path.name

        async with anyio.create_task_group() as tg:
            for path in files:
                tg.start_soon(one, path)

    async def paged(self, url: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = await self.get(url, offset=len(items), limit=500)
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items

    async def wait_ready(self) -> None:
        with anyio.fail_after(4 * 3600):
            while True:
                docs = {d["id"]: d for d in await self.paged("/api/v1/documents")}
                docs = {i: docs[i] for i in self.names if i in docs}
                if failed := [f"{self.names[i]}: {d['error']}" for i, d in docs.items()
                              if d["status"] == "failed"]:  # fmt: skip
                    raise SystemExit("documents failed to ingest:\n  " + "\n  ".join(failed))
                if len(docs) == len(self.names) and all(
                    d["status"] == "ready" for d in docs.values()
                ):
                    return
                await anyio.sleep(0.25)

    async def chunks(self) -> list[Chunk]:
        found: list[Chunk] = []
        for document_id in self.names:
            items = await self.paged(f"/api/v1/documents/{document_id}/chunks")
            found += [(document_id, c["index"], c["text"]) for c in items]
        return found

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors of `texts` by AISS's model for personal documents."""
        body = {"input": texts, "model": "personal", "encoding_format": "base64"}
        response = await self.http.post("/api/v1/embeddings", json=body, headers=self.auth)
        response.raise_for_status()
        data = sorted(response.json()["data"], key=lambda item: item["index"])
        vectors = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), "<f4") for d in data])
        unit: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return unit

    async def search(
        self, query: str, limit: int, mode: str | None, also_in: bool = True
    ) -> list[str] | None:
        """The file names of the hits' documents, in order, each hit's followed by those
        of the documents its `also_in` names (unless not `also_in`); None on 422."""
        body: dict[str, Any] = {"query": query, "limit": limit}
        if mode is not None:
            body["mode"] = mode
        response = await self.http.post("/api/v1/search", json=body, headers=self.auth)
        if response.status_code == 422:
            return None
        response.raise_for_status()
        named = [
            name
            for h in response.json()["hits"]
            for name in (h["document_id"], *(d["document_id"] for d in h.get("also_in", [])))
            if also_in or name == h["document_id"]
        ]
        return [self.names.get(name, name) for name in named]

    async def has_mode(self) -> bool:
        schemas = (await self.http.get("/openapi.json")).json()["components"]["schemas"]
        return "mode" in schemas.get("SearchIn", {}).get("properties", {})


async def baselines(server: Server, found: list[Chunk], questions: list[Question],
                    args: argparse.Namespace) -> dict[str, Run | None]:  # fmt: skip
    texts = [text for _, _, text in found]
    doc = [server.names[document_id] for document_id, _, _ in found]
    started = time.perf_counter()
    bm25 = Bm25(texts)
    print(f"BM25 index of {len(texts)} chunks built in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    digest = hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]
    kept = args.data / f"dense-{digest}.npy" if args.data else None
    if kept and kept.exists():
        vectors = np.load(kept)
    else:
        batches = [texts[n : n + EMBED_BATCH] for n in range(0, len(texts), EMBED_BATCH)]
        vectors = np.concatenate([await server.embed(batch) for batch in batches])
        if kept:
            np.save(kept, vectors)
    print(f"{len(texts)} chunks embedded for dense in {time.perf_counter() - started:.1f} s")
    runs = {name: Run() for name in BASELINES}
    lexical: dict[str, list[int]] = {}
    for q in questions:
        started = time.perf_counter()
        lexical[q["id"]] = bm25.top(q["question"], RRF_DEPTH)
        runs["bm25"].timed(q["id"], started, [doc[i] for i in lexical[q["id"]][: args.limit]])
    semantic: dict[str, list[int]] = {}

    async def dense(q: Question) -> None:
        started = time.perf_counter()
        semantic[q["id"]] = dense_top(vectors, (await server.embed([q["question"]]))[0], RRF_DEPTH)
        runs["dense"].timed(q["id"], started, [doc[i] for i in semantic[q["id"]][: args.limit]])

    await server.embed(["warm up"])
    await each(questions, dense, args.concurrency)
    for q in questions:
        started = time.perf_counter()
        fused = rrf(lexical[q["id"]], semantic[q["id"]])
        runs["rrf(bm25,dense)"].timed(q["id"], started, [doc[i] for i in fused[: args.limit]])
    return dict(runs)


async def aiss(server: Server, mode: str | None, questions: list[Question],
               args: argparse.Namespace, also_in: bool = True) -> Run | None:  # fmt: skip
    """One AISS row, or None where the server refuses the mode."""
    if await server.search("warm up", args.limit, mode) is None:
        return None
    run = Run()
    refused = []

    async def ask(q: Question) -> None:
        started = time.perf_counter()
        hits = await server.search(q["question"], args.limit, mode, also_in)
        if hits is None:
            refused.append(q["id"])
        else:
            run.timed(q["id"], started, hits)

    await each(questions, ask, args.concurrency)
    return None if refused else run


def table(results: dict[str, dict[str, Any] | None]) -> None:
    head = ["method", "R@5", "MRR@10", "R@10", "p50 ms"]
    head += [f"{g} {m}" for g in GROUPS for m in ("R@5", "MRR@10")]
    print("| " + " | ".join(head) + " |\n|---|" + "---:|" * (len(head) - 1))
    for name, r in results.items():
        if r is None:
            print(f"| {name} |" + " n/a |" * (len(head) - 1))
            continue
        cells = [f"{r['all'][m]:.3f}" for m in ("R@5", "MRR@10", "R@10")] + [f"{r['p50_ms']:.1f}"]
        cells += [f"{r[g][m]:.3f}" for g in GROUPS for m in ("R@5", "MRR@10")]
        print(f"| {name} | " + " | ".join(cells) + " |")
    base = {name: r for name in BASELINES if (r := results[name]) is not None}
    default = results["aiss default"]
    print("\nBest baseline per metric, and aiss default minus it:")
    for group in ("all", *GROUPS):
        parts = []
        for metric in ("R@5", "MRR@10", "R@10"):
            best = max(base, key=lambda n: float(base[n][group][metric]))
            value = base[best][group][metric]
            delta = f", {default[group][metric] - value:+.3f}" if default else ""
            parts.append(f"{metric} {value:.3f} ({best}{delta})")
        print(f"- {group}: " + "; ".join(parts))


async def bench(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    questions: list[Question] = json.loads(QUESTIONS.read_text())
    files = corpus(args.documents, questions)
    counts = {g: sum(q["difficulty"] == g for q in questions) for g in GROUPS}
    print(f"{len(questions)} questions {counts}; {len(files)} documents from {DOCS}")
    # Settings to measure pass through: AISS_SEARCH_MODE, AISS_HYBRID_WEIGHTS, ...
    tuning = {k: v for k, v in os.environ.items() if k.startswith("AISS_")}
    env = serve_env(root, PASSWORD, LOG_LEVEL="warning", **tuning)
    async with aiss_serve(env, limits=httpx.Limits(max_connections=20)) as (_, http):
        login = await http.post(
            "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        )
        server = Server(http, {"Authorization": f"Bearer {login.json()['access_token']}"}, {})
        started = time.perf_counter()
        if not await server.uploaded(files):
            await server.upload(files)
        await server.wait_ready()
        ingest_s = time.perf_counter() - started
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"{len(files)} documents ({size:.1f} MB of HTML) ingested in {ingest_s:.1f} s")
        found = await server.chunks()
        runs = await baselines(server, found, questions, args)
        runs["aiss default"] = await aiss(server, None, questions, args)
        runs["aiss default, also_in not read"] = await aiss(server, None, questions, args, False)
        modes = await server.has_mode()
        for mode in args.modes:
            runs[f"aiss {mode}"] = await aiss(server, mode, questions, args) if modes else None
    rows = [(q["id"], q["difficulty"], q["relevant"]) for q in questions]
    results = {name: run.summary(rows) if run else None for name, run in runs.items()}
    print(f"\n{len(found)} chunks; every method cut at {args.limit} chunks, then documents\n")
    table(results)
    return {"documents": len(files), "chunks": len(found), "ingest_s": ingest_s,
            "limit": args.limit, "methods": results}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=None, help="the first N pages only")
    parser.add_argument("--modes", default="dense,sparse,hybrid", help="comma-separated")
    parser.add_argument("--limit", type=int, default=40, help="chunks per search (1-50)")
    parser.add_argument("--concurrency", type=int, default=1, help="queries in flight")
    parser.add_argument("--json", type=Path, default=None, help="write every number here")
    parser.add_argument("--data", type=Path, default=None, help="keep the server's data here")
    args = parser.parse_args()
    args.modes = [m for m in args.modes.split(",") if m]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        out = anyio.run(bench, args, root)
    took = time.perf_counter() - started
    print(f"\nwhole run: {took:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({**out, "run_s": took}, indent=1) + "\n")


if __name__ == "__main__":
    main()
