"""Ingestion end to end against the embedding backend's raw rate on the same chunks.

    python -m bench.ingest [--documents 24] [--pages 10]

One AISS on embedded stores in this process. PDFs of `--pages` pages (about
200 words a page) go through `Library.upload`; the clock stops when the last
is `ready`. The baseline embeds the very chunks ingestion produced with the
backend alone, sorted by length and cut like the service cuts. The ratio is
ingestion's chunks/s over the backend's.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import anyio

from aiss.app import create_app
from aiss.config import Settings
from aiss.documents.library import Upload
from aiss.embedding.backends import OnnxBackend
from aiss.storage.models import ChunkRecord, StoredDocument
from aiss.users.views import Principal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.embed import run_batches, sorted_batches
from tests.aiss.documents.files import pdf

WORDS = (
    "actor", "supervisor", "mailbox", "restart", "vector", "chunk", "embedding", "query",
    "document", "area", "terminal", "session", "shell", "token", "budget", "batch", "model",
    "latency", "throughput", "index", "filter", "payload",
)  # fmt: skip


def page(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(200))


async def bench(documents: int, pages: int, data: Path) -> None:
    tuning = {k: v for k, v in os.environ.items() if k.startswith(("AISS_EMBED", "AISS_INGEST"))}
    settings = Settings.from_env(
        {"AISS_DATA_DIR": str(data), "LOG_LEVEL": "warning", **tuning}, env_file=None
    )
    app = create_app(settings)
    rng = random.Random(5)
    files = [pdf([page(rng) for _ in range(pages)]) for _ in range(documents)]
    owner = Principal("bench", "bench", "user", (), "token")
    async with app.router.lifespan_context(app) as lifespan:
        state = lifespan["aiss"]  # type: ignore[index]
        library = state.documents
        await state.stores.mongo.breaker.wait_healthy()
        await anyio.sleep(5)  # let the extraction process start, as a running server has
        started = time.perf_counter()
        ids = []
        for number, content in enumerate(files):
            meta = Upload(f"doc {number}", "", [], "personal", "")
            doc, _ = await library.upload(owner, meta, io.BytesIO(content), f"doc{number}.pdf")
            ids.append(doc.id)
        states: dict[str, str] = {}
        with anyio.fail_after(1800):
            while len(states) < len(ids):
                # Only the pending ones, not too often: polling is CPU the server needs.
                for document_id in [i for i in ids if str(i) not in states]:
                    doc = await StoredDocument.get(document_id)
                    if doc is not None and doc.status in ("ready", "failed"):
                        states[str(document_id)] = doc.status
                await anyio.sleep(0.25)
        seconds = time.perf_counter() - started
        failed = sum(1 for s in states.values() if s == "failed")
        chunks = await ChunkRecord.find({"owner_id": "bench"}).to_list()
        embedder = state.embeddings.roles["personal"]
        tokenizer = embedder.tokenizer
        seqs = [list(e.ids) for e in tokenizer.encode_batch([c.text for c in chunks])]
        # The same model and threads as the service's worker, here in this process.
        threads = settings.embedding_threads or os.cpu_count() or 1
        info = embedder.info
        backend = OnnxBackend(info, data / "models", gpu=False, fp16=False, threads=threads)
        raw_started = time.perf_counter()
        run_batches(backend, info, sorted_batches(seqs, embedder.limits))
        raw = time.perf_counter() - raw_started

    total_pages = documents * pages
    print(f"{documents} PDFs x {pages} pages, {len(chunks)} chunks, {failed} failed\n")
    print("| run | pages/s | chunks/s | seconds |")
    print("|---|---:|---:|---:|")
    print(
        f"| ingestion end to end (upload → ready) | {total_pages / seconds:,.1f} "
        f"| {len(chunks) / seconds:,.1f} | {seconds:.2f} |"
    )
    print(f"| embedding backend alone, same chunks | - | {len(chunks) / raw:,.1f} | {raw:.2f} |")
    print(f"\nratio (ingestion chunks/s / backend chunks/s) = {raw / seconds:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=24)
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        anyio.run(bench, args.documents, args.pages, Path(data))


if __name__ == "__main__":
    main()
