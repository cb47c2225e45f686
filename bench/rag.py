"""RAG retrieval at 100k chunks on embedded defaults, and time to first token with a local LLM.

    python -m bench.rag [--chunks 100000] [--queries 320] [--concurrency 16] [--llm 8]

One AISS on embedded stores, served by uvicorn on loopback. The corpus: 1,000
ready documents (half the administrator's personal ones, half shared in one
area) holding `--chunks` chunks whose vectors are real MiniLM embeddings of
400 sentences plus noise, so queries find close neighbours as they would in
real text. Rows:

- retrieval through HTTP: `POST /api/v1/search` in dense and in hybrid mode (each chunk
  has its keyword vector), and `POST /api/v1/rag/query` with no provider (extractive
  answer: query embedding, both scopes searched, documents checked, history
  written), one at a time and `--concurrency` at once;
- the baseline: the vector store alone answering the same queries (vectors
  embedded beforehand, both scopes searched), at the same concurrency.

With `--llm N` it then starts SmolLM2-135M on llama.cpp's server and asks N
questions through AISS (server-sent events, time to the first `token` event)
against the same prompt streamed straight from llama.cpp (time to the first
content chunk).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import numpy as np
from beanie import PydanticObjectId

from aiss.app import create_app
from aiss.config import Settings
from aiss.documents.retrieval import header
from aiss.llm.providers import DEFAULT_SYSTEM_PROMPT
from aiss.logs import configure_logging
from aiss.rag import prompt
from aiss.storage.models import StoredDocument
from aiss.storage.vectors import Point, VectorFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.llama import MODEL_NAME, llama_server
from tests.servers import serving

PASSWORD = "Bench-Passw0rd-123"
DOCUMENTS = 1000
WORDS = (
    "actor", "supervisor", "mailbox", "restart", "vector", "chunk", "embedding", "query",
    "document", "area", "terminal", "session", "shell", "token", "budget", "batch", "model",
    "latency", "throughput", "index", "filter", "payload", "harbour", "vault", "billing",
)  # fmt: skip


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(40)).capitalize() + "."


def percentiles(values: list[float]) -> tuple[float, float]:
    array = np.array(values)
    return float(np.percentile(array, 50)), float(np.percentile(array, 99))


async def timed(concurrency: int, jobs: list[Any], run: Any) -> list[float]:
    """Run `run(job)` for every job, `concurrency` at a time; each one's seconds."""
    latencies: list[float] = []
    queue = list(jobs)

    async def worker() -> None:
        while queue:
            job = queue.pop()
            started = time.perf_counter()
            await run(job)
            latencies.append(time.perf_counter() - started)

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return latencies


def load(
    url: str, headers: dict[str, str], bodies: list[dict[str, Any]], concurrency: int
) -> list[float]:
    """In a process of its own, so the clients do not take the server's interpreter."""

    async def run() -> list[float]:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:

            async def post(body: dict[str, Any]) -> None:
                response = await client.post(url, json=body)
                assert response.status_code == 200, response.text

            return await timed(concurrency, bodies, post)

    return anyio.run(run)


async def bench(args: argparse.Namespace, data: Path) -> None:
    env = {
        "AISS_DATA_DIR": str(data),
        "LOG_LEVEL": "warning",
        "ADMIN_INITIAL_PASSWORD": PASSWORD,
        "AISS_LOGIN_RATE_LIMIT": "10000/1m",
    }
    settings = Settings.from_env(env, env_file=None)
    configure_logging(settings)
    app = create_app(settings)
    lifespan_state: dict[str, Any] = {}

    async def capturing(scope: Any, receive: Any, send: Any) -> None:
        # The bench loads the stores in-process: the AppState the lifespan built.
        if scope["type"] == "http":
            lifespan_state.update(scope["state"])
        await app(scope, receive, send)

    rng = random.Random(11)
    async with serving(capturing) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        )
        state = lifespan_state["aiss"]
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        me = (await http.get("/api/v1/users/me", headers=headers)).json()
        area = (await http.post("/api/v1/areas", json={"name": "bench"}, headers=headers)).json()

        started = time.perf_counter()
        docs = [
            StoredDocument(
                id=PydanticObjectId(),  # insert_many leaves ids unset otherwise
                owner_id=me["id"],
                scope="personal" if i % 2 == 0 else "shared",
                area_id="" if i % 2 == 0 else area["id"],
                title=f"document {i}",
                filename=f"d{i}.txt",
                media_type="text/plain",
                size=1,
                sha256=uuid.uuid4().hex,
                blob_key=f"bench/{i}",
                status="ready",
            )
            for i in range(DOCUMENTS)
        ]
        await StoredDocument.insert_many(docs)
        texts = [sentence(rng) for _ in range(400)]
        embedder = state.embeddings.roles["personal"]
        bases = (await embedder.embed(texts, lane="ingest")).vectors
        noise = np.random.default_rng(3)
        ingestion = state.documents.workers.ingestion
        store = state.stores.vectors.store
        keywords = ingestion.retrieval.keywords
        collections = {scope: await ingestion.collection(scope) for scope in ("personal", "shared")}
        batch: dict[str, list[Point]] = {"personal": [], "shared": []}
        for i in range(args.chunks):
            doc = docs[i % DOCUMENTS]
            k = rng.randrange(len(texts))
            vector = bases[k] + noise.standard_normal(bases.shape[1]).astype(np.float32) * 0.02
            vector /= np.linalg.norm(vector)
            payload = {
                "owner_id": doc.owner_id,
                "area_id": doc.area_id,
                "scope": doc.scope,
                "document_id": str(doc.id),
                "chunk_index": i // DOCUMENTS,
                "page": 0,
                "text": texts[k],
            }
            words = keywords.document(f"{header(doc.title, '', (), None)}\n\n{texts[k]}")
            point = Point(str(uuid.UUID(int=i + 1)), vector.tolist(), payload, words)
            batch[doc.scope].append(point)
            if len(batch[doc.scope]) == 512:
                await store.upsert(collections[doc.scope], batch[doc.scope])
                batch[doc.scope] = []
        for scope, points in batch.items():
            if points:
                await store.upsert(collections[scope], points)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        await store.build_indexes()  # what the next start of the server does
        indexed = time.perf_counter() - started
        print(
            f"{args.chunks:,} chunks in {DOCUMENTS:,} documents: loaded in {loaded:.1f} s;"
            f" HNSW index built (as the next start does) in {indexed:.1f} s\n"
        )

        questions = [" ".join(rng.sample(WORDS, 6)) + "?" for _ in range(args.queries)]
        query_vectors = (await embedder.embed(questions, query=True)).vectors
        filters = [
            ("personal", VectorFilter(all={"owner_id": me["id"], "scope": "personal"})),
            ("shared", VectorFilter(all={"scope": "shared"})),
        ]
        limit = 5 * prompt.PER_DOCUMENT * 2

        async def raw(i: int) -> None:
            vector = query_vectors[i].tolist()

            async def one(collection: str, flt: VectorFilter) -> None:
                await store.search(collection, vector, limit=limit, filter=flt)

            async with anyio.create_task_group() as tg:
                for collection, flt in filters:
                    tg.start_soon(one, collection, flt)

        async def embed_only(i: int) -> None:
            await embedder.embed([questions[i]], query=True)

        async def answer(i: int) -> None:
            response = await http.post(
                "/api/v1/rag/query", json={"question": questions[i]}, headers=headers
            )
            assert response.status_code == 200, response.text
            assert response.json()["sources"], "the corpus should answer every question"

        await timed(4, list(range(16)), answer)  # warm up, and check the corpus answers
        rows = []
        for name, run in (("vector store alone (baseline)", raw), ("query embedding", embed_only)):
            await timed(4, list(range(16)), run)
            for concurrency in (1, args.concurrency):
                latencies = await timed(concurrency, list(range(args.queries)), run)
                rows.append((name, concurrency, *percentiles(latencies)))
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            paths: list[tuple[str, str, list[dict[str, Any]]]] = [
                (
                    f"POST /search (retrieval, {mode})",
                    "/api/v1/search",
                    [{"query": q, "limit": limit, "mode": mode} for q in questions],
                )
                for mode in ("dense", "hybrid")
            ]
            paths.append(
                (
                    "POST /rag/query (extractive answer)",
                    "/api/v1/rag/query",
                    [{"question": q} for q in questions],
                )
            )
            for name, path, bodies in paths:
                for concurrency in (1, args.concurrency):
                    job = pool.submit(
                        load,
                        f"{http.base_url}{path}".replace("//api", "/api"),
                        headers,
                        bodies,
                        concurrency,
                    )
                    latencies = await anyio.to_thread.run_sync(job.result)
                    rows.append((name, concurrency, *percentiles(latencies)))
        print("| path | concurrent | p50 ms | p99 ms |")
        print("|---|---:|---:|---:|")
        for name, concurrency, p50, p99 in rows:
            print(f"| {name} | {concurrency} | {p50 * 1000:.1f} | {p99 * 1000:.1f} |")
        base = {c: p for n, c, p, _ in rows if n.startswith("vector")}
        dense = {c: p for n, c, p, _ in rows if n == "POST /search (retrieval, dense)"}
        hybrid = {c: p for n, c, p, _ in rows if n == "POST /search (retrieval, hybrid)"}
        c = args.concurrency
        print(f"\nratio p50 at {c} concurrent (dense retrieval / store) = {dense[c] / base[c]:.2f}")
        print(
            f"ratio p50 at {c} concurrent (hybrid / dense retrieval) = {hybrid[c] / dense[c]:.2f}"
        )
        print("targets: p50 <= 30 ms, p99 <= 100 ms at 16 concurrent; hybrid <= 1.3x dense")

        if args.llm:
            await first_tokens(args.llm, http, headers, questions)


async def first_tokens(
    n: int, http: httpx.AsyncClient, headers: dict[str, str], questions: list[str]
) -> None:
    async with llama_server() as base:
        provider = await http.post(
            "/api/v1/llm/providers",
            json={
                "name": "local",
                "type": "openai_compatible",
                "model": MODEL_NAME,
                "api_base": base,
                "max_tokens": 64,
                "temperature": 0,
            },
            headers=headers,
        )
        assert provider.status_code == 201, provider.text
        via_aiss: list[float] = []
        direct: list[float] = []
        prompts: list[list[dict[str, str]]] = []
        for question in questions[: n + 1]:
            started = time.perf_counter()
            async with http.stream(
                "POST",
                "/api/v1/rag/query",
                json={"question": question},
                headers={**headers, "Accept": "text/event-stream"},
                timeout=120,
            ) as response:
                sources: list[dict[str, Any]] = []
                kind = ""
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind == "sources":
                        sources = json.loads(line[6:])
                    elif line.startswith("data: ") and kind == "token":
                        via_aiss.append(time.perf_counter() - started)
                        break
            if len(via_aiss) == 1 and not direct:
                via_aiss.clear()  # the first one warms up: litellm's import, the model's caches
                direct.append(0.0)
                continue
            # The same prompt, straight to llama.cpp: what the model alone needs.
            for s in sources:
                s["text"] = s["snippet"]
            prompts.append(prompt.messages(DEFAULT_SYSTEM_PROMPT, question, sources))
        direct.clear()
        async with httpx.AsyncClient(timeout=120) as client:
            for messages in prompts:
                started = time.perf_counter()
                body = {
                    "model": MODEL_NAME,
                    "messages": messages,
                    "stream": True,
                    "max_tokens": 64,
                    "temperature": 0,
                }
                async with client.stream("POST", f"{base}/chat/completions", json=body) as r:
                    async for line in r.aiter_lines():
                        if '"content":' in line and '"content":""' not in line:
                            direct.append(time.perf_counter() - started)
                            break
    a50, a99 = percentiles(via_aiss)
    d50, d99 = percentiles(direct)
    print("\n| time to first token (SmolLM2-135M, llama.cpp, 1 thread) | p50 ms | p99 ms |")
    print("|---|---:|---:|")
    print(f"| llama.cpp server alone, same prompts | {d50 * 1000:.0f} | {d99 * 1000:.0f} |")
    print(f"| AISS: retrieval + prompt + litellm stream | {a50 * 1000:.0f} | {a99 * 1000:.0f} |")
    print(f"\nratio p50 (AISS / llama.cpp alone) = {a50 / d50:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=320)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--llm", type=int, default=8, help="questions for the TTFT rows; 0: none")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        anyio.run(bench, args, Path(data))


if __name__ == "__main__":
    main()
