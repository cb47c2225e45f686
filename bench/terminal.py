"""Terminal sessions against ttyd, side by side: output, keystroke echo, CPU, memory.

    python -m bench.terminal [--ttyd PATH] [--megabytes 100] [--sessions 50] [--runs 3]
    python -m bench.terminal --part sandbox     # local shells: none against bubblewrap

`aiss serve` runs on embedded defaults as its own process, and so does ttyd
1.7.7 when `--ttyd` names its binary (built by the anchors' `build-ttyd.sh`);
this process is the one client for both, over loopback, and the table gives
AISS / ttyd for each row (medians of `--runs`). Rows:

- raw and cooked output: a shell printing `--megabytes` (after `stty raw -echo`,
  or through the line discipline), with the client offering permessage-deflate
  as a browser does, and raw once more without it;
- echo: one key at a time, the time until its echo, with one session, and
  with `--sessions` at once in a closed loop (each types as soon as it saw its
  echo) and as typists (a key every 20 ms, jittered);
- server CPU per echo (the server's process only: the shells are the same)
  and echoes per second in the closed loop;
- server memory per session: resident memory grown per attached session (from the
  first run: later ones reuse what earlier sessions freed).

Without `--ttyd`, the AISS column is printed alone.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import numpy as np

from bench.terminal_client import aiss, cpu_seconds, rss, ttyd
from bench.terminal_sandbox import sandbox_table

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from bench.terminal_client import Conn, Target

MARK = b"bench-done-42"  # printed as bench-done-$((40+2)): the echoed command never matches
KEYS = ((b"k", b"k"), (b"\x7f", b"\x08"))  # a key and its echo, then erased


def output_command(megabytes: int, *, raw: bool) -> bytes:
    line = "x" * 99
    mode = "stty raw -echo; " if raw else ""
    count = megabytes * 1_000_000
    return f"{mode}yes {line} | head -c {count}; echo; echo bench-done-$((40+2))\r".encode()


async def ready(conn: Conn, n: int = 0) -> None:
    await conn.type(f"echo ready-{n}-$((1+1))\r".encode())
    await conn.until(f"ready-{n}-2".encode())


async def output_rate(target: Target, megabytes: int, *, raw: bool, deflate: bool) -> float:
    """MB/s of a shell's output, as read by the client."""
    conn = await target.connect(deflate=deflate)
    try:
        await ready(conn)
        await conn.type(output_command(megabytes, raw=raw))
        started = time.perf_counter()
        await conn.until(MARK)
        return megabytes / (time.perf_counter() - started)
    finally:
        await conn.close()


async def echo(conn: Conn, n: int) -> float:
    key, echoed = KEYS[n % 2]
    started = time.perf_counter()
    await conn.type(key)
    await conn.until(echoed)
    return time.perf_counter() - started


async def one_session(target: Target, keys: int) -> dict[str, float]:
    conn = await target.connect(deflate=True)
    try:
        await ready(conn)
        cpu = cpu_seconds(target.pid)
        latencies = [await echo(conn, n) for n in range(keys)]
        cpu = cpu_seconds(target.pid) - cpu
    finally:
        await conn.close()
    return {
        "echo p50, 1 session, ms": float(np.percentile(latencies, 50)) * 1000,
        "echo p99, 1 session, ms": float(np.percentile(latencies, 99)) * 1000,
        "server CPU per echo, 1 session, µs": cpu / keys * 1e6,
    }


async def many_sessions(target: Target, sessions: int, seconds: float) -> dict[str, float]:
    await anyio.sleep(1)
    before = rss(target.pid)
    conns = [await target.connect(deflate=True) for _ in range(sessions)]
    try:
        for n, conn in enumerate(conns):
            await ready(conn, n)
        await anyio.sleep(1)
        memory = (rss(target.pid) - before) / sessions / 1024
        rows = {f"server memory per session, {sessions} sessions, KiB": memory}
        rows.update(await typing(target, conns, seconds, closed=True))
        rows.update(await typing(target, conns, seconds, closed=False))
    finally:
        for conn in conns:
            await conn.close()
    return rows


async def typing(
    target: Target, conns: list[Conn], seconds: float, *, closed: bool
) -> dict[str, float]:
    """Every connection types for `seconds`: at once again, or every 20 ms or so."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    jitter = random.Random(42)

    async def typist(conn: Conn) -> None:
        n = 0
        if not closed:
            await anyio.sleep(jitter.uniform(0, 0.02))  # not all in step
        while time.perf_counter() < deadline:
            latencies.append(await echo(conn, n))
            n += 1
            if not closed:
                await anyio.sleep(jitter.uniform(0.01, 0.03))

    cpu, started = cpu_seconds(target.pid), time.perf_counter()
    async with anyio.create_task_group() as tg:
        for conn in conns:
            tg.start_soon(typist, conn)
    cpu, elapsed = cpu_seconds(target.pid) - cpu, time.perf_counter() - started
    how = f"{len(conns)} sessions, " + ("closed loop" if closed else "typists 20 ms")
    rows = {
        f"echo p50, {how}, ms": float(np.percentile(latencies, 50)) * 1000,
        f"echo p99, {how}, ms": float(np.percentile(latencies, 99)) * 1000,
        f"server CPU per echo, {how}, µs": cpu / len(latencies) * 1e6,
    }
    if closed:
        rows[f"echoes/s, {how}"] = len(latencies) / elapsed
        rows[f"server CPU, {how}, % of a core"] = cpu / elapsed * 100
    return rows


async def measure(target: Target, args: argparse.Namespace) -> dict[str, float]:
    rows: dict[str, float] = {}
    mb = args.megabytes
    rows["raw output, MB/s"] = await output_rate(target, mb, raw=True, deflate=True)
    rows["raw output without deflate, MB/s"] = await output_rate(
        target, mb, raw=True, deflate=False
    )
    rows["cooked output, MB/s"] = await output_rate(target, mb, raw=False, deflate=True)
    rows.update(await one_session(target, args.keys))
    rows.update(await many_sessions(target, args.sessions, args.seconds))
    return rows


async def runs(
    server: AbstractAsyncContextManager[Target], args: argparse.Namespace
) -> dict[str, float]:
    """The median of each row over `--runs` runs against one server."""
    async with server as target:
        await output_rate(target, 10, raw=True, deflate=True)  # warm-up
        await one_session(target, 50)
        results = [await measure(target, args) for _ in range(args.runs)]
    # Memory from the first run: later ones reuse what the first run's sessions freed.
    return {
        name: results[0][name] if "memory" in name else statistics.median(r[name] for r in results)
        for name in results[0]
    }


async def compare(args: argparse.Namespace, data: Path) -> None:
    ours = await runs(aiss(data), args)
    theirs = await runs(ttyd(args.ttyd, data), args) if args.ttyd else {}
    print(f"| medians of {args.runs} | ttyd | AISS | AISS / ttyd |")
    print("|---|---:|---:|---:|")
    for name, value in ours.items():
        anchor = theirs.get(name)
        them = f"{anchor:,.3f}" if anchor is not None else "-"
        ratio = f"{value / anchor:.2f}" if anchor else "-"
        print(f"| {name} | {them} | {value:,.3f} | {ratio} |")
    print(
        "\ntargets: raw output >= 1.0x ttyd; echo p99 <= 1.5x ttyd with 1 and"
        f" {args.sessions} sessions; server CPU per echo <= 2x ttyd's"
    )


async def bench(args: argparse.Namespace, data: Path) -> None:
    if args.part in ("sandbox", "all"):
        await sandbox_table(args, data / "sandbox")
        if args.part == "sandbox":
            return
        print()
    await compare(args, data)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ttyd", help="path of a ttyd binary to measure beside")
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--keys", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument("--opens", type=int, default=30)
    parser.add_argument("--part", choices=("compare", "sandbox", "all"), default="compare")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        anyio.run(bench, args, Path(data))


if __name__ == "__main__":
    main()
