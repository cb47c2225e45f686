"""The embedding service against its own backend, on a mixed-length corpus.

    python -m bench.embed [--texts 2000] [--clients 64]
    python -m bench.embed --gpu        (torch on CUDA, bge-large architecture)

(a) the backend alone on pre-formed batches, sorted by length and cut by the
    same token budget as the service: the best the model can do;
(b) the service under many concurrent clients sending one text each;
(c) the backend on naive batches: corpus order, a fixed number of rows.
Prints sequences/s and tokens/s, and the ratios b/a and b/c.

`--gpu` runs the bge-large architecture (24 layers, 1024 wide) with RANDOM
weights: a speed measurement only, at 128 tokens a text, with 256 clients.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np
from tokenizers import Tokenizer

from actors import Supervisor, running
from aiss.embedding.backends import OnnxBackend, TorchBackend, pool
from aiss.embedding.model import describe
from aiss.embedding.schedule import Limits, cut
from aiss.embedding.service import Embedder
from aiss.embedding.worker import Load, ModelWorker

if TYPE_CHECKING:
    from pathlib import Path

    from aiss.embedding.backends import Backend
    from aiss.embedding.model import ModelInfo

WORDS = (
    "actor", "supervisor", "mailbox", "restart", "vector", "chunk", "embedding", "query",
    "document", "area", "terminal", "session", "shell", "token", "budget", "batch", "model",
    "latency", "throughput", "index", "filter", "payload",
)  # fmt: skip


def corpus(count: int, seed: int = 3) -> list[str]:
    """Mostly short texts, some long: lengths drawn from a heavy tail."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(WORDS) for _ in range(min(250, int(rng.paretovariate(1.2) * 6))))
        for _ in range(count)
    ]


def encode(tokenizer: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [list(e.ids) for e in tokenizer.encode_batch(texts)]


def run_batches(backend: Backend, info: ModelInfo, batches: list[list[list[int]]]) -> int:
    tokens = 0
    for batch in batches:
        longest = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), longest), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        pool(backend.run(ids, mask), mask, info)
        tokens += int(mask.sum())
    return tokens


def sorted_batches(seqs: list[list[int]], limits: Limits) -> list[list[list[int]]]:
    """The whole corpus sorted, cut the way the service cuts: its best case."""
    rest = sorted(seqs, key=len)
    batches = []
    while rest:
        count = cut([len(s) for s in rest], limits)
        batches.append(rest[:count])
        rest = rest[count:]
    return batches


def measure(label: str, seqs: int, tokens: int, seconds: float) -> dict[str, Any]:
    return {"label": label, "seq/s": seqs / seconds, "tok/s": tokens / seconds}


async def service_rate(
    load: Load,
    tokenizer: Tokenizer,
    texts: list[str],
    limits: Limits,
    clients: int,
    per_request: int = 1,
) -> dict[str, Any]:
    """The service as `aiss serve` runs it: the model in its worker process."""
    worker = ModelWorker("bench.model", load)
    service = Embedder("bench", load.info, lambda: tokenizer, worker, limits)
    total = 0

    async def client(part: list[str]) -> None:
        nonlocal total
        for i in range(0, len(part), per_request):
            embedded = await service.embed(part[i : i + per_request])
            total += embedded.tokens

    async with running(Supervisor("root", [worker, service])):
        await service.embed(texts[:8])  # warm up
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for k in range(clients):
                tg.start_soon(client, texts[k::clients])
        seconds = time.perf_counter() - started
    each = "one text" if per_request == 1 else f"{per_request} texts"
    label = f"(b) service, {clients} clients, {each} a request"
    return measure(label, len(texts), total, seconds)


def table(rows: list[dict[str, Any]]) -> None:
    print("| run | sequences/s | tokens/s |")
    print("|---|---:|---:|")
    for row in rows:
        print(f"| {row['label']} | {row['seq/s']:,.1f} | {row['tok/s']:,.0f} |")
    a, *services, c = rows
    for b in services:
        print(
            f"\n{b['label']}: b/a = {b['seq/s'] / a['seq/s']:.2f}"
            f"   b/c = {b['seq/s'] / c['seq/s']:.2f}"
        )
    print(f"a/c = {a['seq/s'] / c['seq/s']:.2f}")


def cpu(args: argparse.Namespace, data: Path) -> None:
    info = describe("all-MiniLM-L6-v2", data)
    backend = OnnxBackend(info, data / "models", gpu=False, fp16=False, threads=args.threads)
    tokenizer = Tokenizer.from_file(str(info.directory / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=info.max_tokens)
    tokenizer.no_padding()
    texts = corpus(args.texts)
    seqs = encode(tokenizer, texts)
    limits = Limits(token_budget=args.budget, max_rows=args.rows)
    lengths = [len(s) for s in seqs]
    print(
        f"{len(texts)} texts, tokens per text: median {int(np.median(lengths))},"
        f" max {max(lengths)}; "
        f"budget {limits.token_budget} tokens, at most {limits.max_rows} rows\n"
    )
    run_batches(backend, info, sorted_batches(seqs[:64], limits))  # warm up
    started = time.perf_counter()
    tokens = run_batches(backend, info, sorted_batches(seqs, limits))
    a = measure(
        "(a) backend, sorted batches cut by the budget",
        len(seqs),
        tokens,
        time.perf_counter() - started,
    )
    load = Load("onnx", info, data / "models", False, False, args.threads, False)
    b = anyio.run(service_rate, load, tokenizer, texts, limits, args.clients)
    naive = [seqs[i : i + args.naive_rows] for i in range(0, len(seqs), args.naive_rows)]
    started = time.perf_counter()
    tokens = run_batches(backend, info, naive)
    c = measure(
        f"(c) backend, corpus order, {args.naive_rows} rows a batch",
        len(seqs),
        tokens,
        time.perf_counter() - started,
    )
    table([a, b, c])


def gpu(args: argparse.Namespace, data: Path) -> None:
    base = describe(args.base, data)
    large = {
        **base.config,
        "hidden_size": 1024,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "intermediate_size": 4096,
        "max_position_embeddings": 512,
    }
    info = dataclasses.replace(
        base,
        name="bge-large architecture, random weights",
        config=large,
        dimension=1024,
        max_tokens=128,
        pooling="cls",
    )
    backend = TorchBackend(info, fp16=True, random_weights=True)
    tokenizer = Tokenizer.from_file(str(base.directory / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=128)
    texts = [
        " ".join(random.Random(i).choice(WORDS) for _ in range(200)) for i in range(args.texts)
    ]
    seqs = encode(tokenizer, texts)
    assert all(len(s) == 128 for s in seqs)
    limits = Limits(token_budget=256 * 128, max_rows=256, queue=100_000)
    batches = [seqs[i : i + 256] for i in range(0, len(seqs), 256)]
    run_batches(backend, info, batches[:2])
    started = time.perf_counter()
    tokens = run_batches(backend, info, batches)
    a = measure(
        "(a) raw batched forward, 256 x 128", len(seqs), tokens, time.perf_counter() - started
    )
    load = Load("torch", info, data / "models", True, True, 1, False, random_weights=True)
    services = [
        anyio.run(service_rate, load, tokenizer, texts, limits, clients, per_request)
        for clients, per_request in ((256, 1), (1024, 1), (16, 64))
    ]
    one = [seqs[i : i + 1] for i in range(min(512, len(seqs)))]
    started = time.perf_counter()
    tokens = run_batches(backend, info, one)
    c = measure("(c) one text at a time", len(one), tokens, time.perf_counter() - started)
    table([a, *services, c])


def main() -> None:
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument(
        "--base", default="all-MiniLM-L6-v2", help="with --gpu: the model giving the tokenizer"
    )
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=int, default=Limits().token_budget)
    parser.add_argument("--rows", type=int, default=Limits().max_rows)
    parser.add_argument("--naive-rows", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        (gpu if args.gpu else cpu)(args, Path(data))


if __name__ == "__main__":
    main()
