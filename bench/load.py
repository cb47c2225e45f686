"""Mixed load on one `aiss serve` (embedded defaults) over loopback, for a while.

    python -m bench.load [--seconds 60] [--sessions 200] [--askers 50]

At once: `--sessions` terminal sessions whose shells print a line every 100 ms
to an attached viewer that acknowledges, `--askers` clients asking questions
(RAG without an LLM: retrieval and an extractive answer) back to back, and one
upload every 200 ms. Reports errors (target: none), latency percentiles,
terminal bytes, and the server's resident memory before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import anyio
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.terminal_client import PASSWORD, Client, rss
from terminal import frames
from tests.servers import aiss_serve

# A line every 100 ms without forking `sleep` (a read that times out on an idle pipe):
# the load is on AISS, not on process creation.
PRINTER = b"exec 3<> <(:); while :; do echo line-$RANDOM-$RANDOM; read -t 0.1 -u 3; done\r"
TOPICS = ["supervision", "ingestion", "terminals", "embeddings", "backups", "tokens"]


class Tally:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()
        self.terminal_bytes = 0

    def took(self, kind: str, seconds: float) -> None:
        self.latency.setdefault(kind, []).append(seconds)


async def session(client: Client, tally: Tally, stop: anyio.Event) -> None:
    try:
        session_id = await client.open()
        async with await client.attach(session_id) as ws:
            await ws.send(frames.input_frame(PRINTER))
            while not stop.is_set():
                with anyio.move_on_after(1):
                    message = await ws.recv()
                    if isinstance(message, bytes) and message[0] == frames.OUTPUT:
                        tally.terminal_bytes += len(message) - 1
                        await ws.send(frames.ack_frame(len(message) - 1))
                    elif isinstance(message, bytes) and message[0] == frames.STATUS:
                        ended = b'"exit"' in message or b'"error"' in message
                        if ended:
                            tally.errors["terminal ended early"] += 1
                            return
        await client.http.delete(f"/api/v1/terminal/sessions/{session_id}", headers=client.headers)
    except Exception as exc:  # counted, not raised: the run goes on
        tally.errors[f"terminal: {type(exc).__name__}"] += 1


async def asker(client: Client, tally: Tally, stop: anyio.Event, number: int) -> None:
    while not stop.is_set():
        topic = TOPICS[number % len(TOPICS)]
        started = time.perf_counter()
        try:
            response = await client.http.post(
                "/api/v1/rag/query",
                headers=client.headers,
                json={"question": f"How do {topic} work here?"},
            )
            if response.status_code != 200:
                tally.errors[f"rag {response.status_code}"] += 1
            else:
                tally.took("rag query", time.perf_counter() - started)
        except httpx.HTTPError as exc:
            tally.errors[f"rag: {type(exc).__name__}"] += 1


async def uploader(client: Client, tally: Tally, stop: anyio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        topic = TOPICS[n % len(TOPICS)]
        text = f"# Note {n} on {topic}\n\n" + f"How {topic} work, note {n}. " * 40
        started = time.perf_counter()
        try:
            response = await client.http.post(
                "/api/v1/documents",
                headers=client.headers,
                files={"file": (f"note-{n}.md", text.encode())},
            )
            if response.status_code != 202:
                tally.errors[f"upload {response.status_code}"] += 1
            else:
                tally.took("upload", time.perf_counter() - started)
        except httpx.HTTPError as exc:
            tally.errors[f"upload: {type(exc).__name__}"] += 1
        await anyio.sleep(0.2)


async def bench(args: argparse.Namespace, data: Path) -> None:
    env = {
        **os.environ,
        "AISS_DATA_DIR": str(data),
        "ADMIN_INITIAL_PASSWORD": PASSWORD,
        "AISS_TERMINAL_MAX_PER_USER": str(args.sessions + 10),
        "AISS_TERMINAL_MAX_SESSIONS": str(args.sessions + 10),
        "AISS_SSH_PORT": "0",
        "LOG_LEVEL": "warning",
    }
    tally = Tally()
    limits = httpx.Limits(max_connections=args.askers + 20)
    async with aiss_serve(env, limits=limits) as (server, http):
        login = await http.post(
            "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        )
        client = Client(http, {"Authorization": f"Bearer {login.json()['access_token']}"})
        await anyio.sleep(2)
        before = rss(server.pid)
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            for _ in range(args.sessions):
                tg.start_soon(session, client, tally, stop)
            for number in range(args.askers):
                tg.start_soon(asker, client, tally, stop, number)
            tg.start_soon(uploader, client, tally, stop)
            await anyio.sleep(args.seconds)
            during = rss(server.pid)
            stop.set()
        await anyio.sleep(3)
        after = rss(server.pid)
        health = (await http.get("/ready")).status_code

    print(f"{args.seconds} s: {args.sessions} terminals printing, {args.askers} askers, uploads\n")
    print("| operation | count | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for kind, values in sorted(tally.latency.items()):
        ms = np.array(values) * 1000
        p50, p95, p99 = (np.percentile(ms, q) for q in (50, 95, 99))
        print(f"| {kind} | {len(values)} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")
    mb = tally.terminal_bytes / 1e6
    print(f"\nterminal output received: {mb:.1f} MB ({mb / args.seconds:.2f} MB/s)")
    print(f"errors: {sum(tally.errors.values())} {dict(tally.errors)} (target 0)")
    mib = 1024 * 1024
    print(
        f"server memory: {before / mib:.0f} MiB before, {during / mib:.0f} MiB under load,"
        f" {after / mib:.0f} MiB after; /ready {health}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--askers", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        anyio.run(bench, args, Path(data))


if __name__ == "__main__":
    main()
