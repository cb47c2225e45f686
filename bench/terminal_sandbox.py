"""Local shells unsandboxed (`none`) and in bubblewrap, side by side in one run.

    python -m bench.terminal --part sandbox

Session open time (open, attach, first echo), keystroke echo with one
session, and memory per idle session: the server's, and the sandbox's own
processes beside the shell.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import numpy as np

from bench.terminal_client import admin, rss, server_env, until
from terminal import frames
from terminal.processes import descendants, snapshot
from tests.servers import aiss_serve

if TYPE_CHECKING:
    import argparse

    from websockets.asyncio.client import ClientConnection


async def echoes(probe: ClientConnection, keys: int) -> list[float]:
    """Seconds from each keystroke to its echo (then erased, so the line stays short)."""
    latencies = []
    for _ in range(keys):
        started = time.perf_counter()
        await probe.send(frames.input_frame(b"k"))
        await until(probe, b"k")
        latencies.append(time.perf_counter() - started)
        await probe.send(frames.input_frame(b"\x7f"))
        await until(probe, b"\x08")
    return latencies


def helpers_rss(server: int) -> int:
    """Resident memory of the sandbox's own processes (bwrap, setsid), not the shells'."""
    total = 0
    for pid in descendants(server, snapshot()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() in ("bwrap", "setsid"):
                total += rss(pid)
        except (OSError, RuntimeError):  # gone, or a zombie
            continue
    return total


async def sandboxed(args: argparse.Namespace, data: Path, sandbox: str) -> dict[str, float]:
    rows: dict[str, float] = {}
    env = server_env(data / sandbox, AISS_TERMINAL_SANDBOX=sandbox)
    async with aiss_serve(env) as (server, http):
        client = await admin(http)
        opens = []
        for n in range(args.opens):
            started = time.perf_counter()
            async with await client.attach(await client.open()) as ws:
                await ws.send(frames.input_frame(f"echo open-{n}-$((1+1))\r".encode()))
                await until(ws, f"open-{n}-2".encode())
            opens.append(time.perf_counter() - started)
        rows["session open to first echo p50, ms"] = float(np.percentile(opens, 50)) * 1000
        rows["session open to first echo p99, ms"] = float(np.percentile(opens, 99)) * 1000
        async with await client.attach(await client.open()) as probe:
            await probe.send(frames.input_frame(b"echo probe-$((2+2))\r"))
            await until(probe, b"probe-4")
            latencies = await echoes(probe, args.keys)
        rows["echo p50 ms (1 session)"] = float(np.percentile(latencies, 50)) * 1000
        rows["echo p99 ms (1 session)"] = float(np.percentile(latencies, 99)) * 1000
        await anyio.sleep(2)
        before, helpers = rss(server.pid), helpers_rss(server.pid)
        for _ in range(args.idle):
            async with await client.attach(await client.open()) as ws:
                await ws.send(frames.input_frame(b"echo idle-$((3+3))\r"))
                await until(ws, b"idle-6")
        await anyio.sleep(3)
        rows["server memory per idle session, KiB"] = (rss(server.pid) - before) / args.idle / 1024
        rows["sandbox processes' memory per session, KiB"] = (
            (helpers_rss(server.pid) - helpers) / args.idle / 1024
        )
    return rows


async def sandbox_table(args: argparse.Namespace, data: Path) -> None:
    plain, boxed = await sandboxed(args, data, "none"), await sandboxed(args, data, "bwrap")
    print("| local shells | none | bwrap | bwrap / none |")
    print("|---|---:|---:|---:|")
    for name, value in plain.items():
        ratio = f"{boxed[name] / value:.2f}" if value else "-"
        print(f"| {name} | {value:,.2f} | {boxed[name]:,.2f} | {ratio} |")
