"""Terminal sessions: WebSocket throughput, keystroke echo under load, idle memory.

    python -m bench.terminal [--megabytes 100] [--sessions 100] [--keys 200] [--idle 50]

`aiss serve` runs as its own process on embedded defaults; this process is
the client, over loopback. Rows:

- throughput: a raw-mode PTY (`stty raw`) printing a file, received through the
  WebSocket with acknowledgements, against the same command read straight from a
  PTY in this process (the baseline: what the kernel gives);
- echo: one keystroke at a time to an idle bash, time to its echo, while
  `--sessions` other sessions print a line a second to their attached viewers;
- memory: the server's resident memory grown per idle session (the shells
  themselves are other processes and not counted);
- sandbox (`--part sandbox`, also part of the default run): session open time
  (open, attach, first echo), keystroke echo with one session, and memory per
  idle session (the server's, and the sandbox's own processes beside the shell),
  with local shells unsandboxed (`none`) and in bubblewrap, in one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import numpy as np
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from terminal import frames
from terminal.processes import descendants, snapshot
from terminal.pty import LocalPty, environment
from terminal.sandbox import plain
from tests.servers import aiss_serve

if TYPE_CHECKING:
    import httpx

PASSWORD = "Bench-Passw0rd-123"
MARK = b"bench-done-42"  # printed as bench-done-$((40+2)): the echoed command never matches


class Client:
    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers

    async def open(self) -> str:
        response = await self.http.post(
            "/api/v1/terminal/sessions", json={"target": {"type": "local"}}, headers=self.headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def attach(self, session_id: str) -> ClientConnection:
        granted = (
            await self.http.post(
                f"/api/v1/terminal/sessions/{session_id}/ticket", json={}, headers=self.headers
            )
        ).json()
        base = str(self.http.base_url).rstrip("/").replace("http://", "ws://")
        return await connect(
            f"{base}{granted['ws_path']}?ticket={granted['ticket']}", max_size=None
        )


async def until(ws: ClientConnection, pattern: bytes, *, ack: bool = True) -> int:
    """Read output (acknowledging it) until `pattern`; the bytes read."""
    seen = b""
    total = 0
    while True:
        message = await ws.recv()
        assert isinstance(message, bytes)
        if message[0] != frames.OUTPUT:
            continue
        total += len(message) - 1
        if ack:
            await ws.send(frames.ack_frame(len(message) - 1))
        seen = (seen + message[1:])[-4096:]
        if pattern in seen:
            return total


def write_file(path: Path, megabytes: int) -> int:
    line = b"x" * 99 + b"\n"
    with path.open("wb") as file:
        for _ in range(megabytes * 10_000):
            file.write(line)
    return megabytes * 10_000 * len(line)


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def baseline(command: bytes, home: Path) -> float:
    """Seconds for the same command's output read straight from a PTY."""
    env = environment(
        os.environ, home=str(home), user="bench", shell="/bin/bash", term="xterm", extra={}
    )
    launch = plain(["/bin/bash", "--norc", "-i"], home)
    pty = LocalPty.spawn(launch, env=env, cols=200, rows=50)
    await pty.write(command)
    started = time.perf_counter()
    seen = b""
    while MARK not in seen:
        data = await pty.read()
        assert data
        seen = (seen + data)[-4096:]
    seconds = time.perf_counter() - started
    await pty.terminate()
    return seconds


def server_env(data: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "AISS_DATA_DIR": str(data / "aiss"),
        "ADMIN_INITIAL_PASSWORD": PASSWORD,
        "AISS_TERMINAL_MAX_PER_USER": "10000",
        "AISS_TERMINAL_MAX_SESSIONS": "10000",
        "LOG_LEVEL": "warning",
        **extra,
    }


async def admin(http: httpx.AsyncClient) -> Client:
    login = await http.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    return Client(http, {"Authorization": f"Bearer {login.json()['access_token']}"})


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


async def bench(args: argparse.Namespace, data: Path) -> None:
    if args.part in ("sandbox", "all"):
        await sandbox_table(args, data)
        if args.part == "sandbox":
            return
        print()
    env = {
        **os.environ,
        "AISS_DATA_DIR": str(data / "aiss"),
        "ADMIN_INITIAL_PASSWORD": PASSWORD,
        "AISS_TERMINAL_MAX_PER_USER": "10000",
        "AISS_TERMINAL_MAX_SESSIONS": "10000",
        "LOG_LEVEL": "warning",
    }
    big = data / "big.txt"
    size = await anyio.to_thread.run_sync(write_file, big, args.megabytes)
    command = f"stty raw -echo; cat {big}; echo; echo bench-done-$((40+2))\r".encode()
    async with aiss_serve(env) as (server, http):
        login = await http.post(
            "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        )
        client = Client(http, {"Authorization": f"Bearer {login.json()['access_token']}"})
        rows = await measure(client, command, server.pid, args, data)
    raw = await baseline(command, data)
    print("| what | value |")
    print("|---|---:|")
    through = rows.pop("throughput seconds")
    print(f"| output through the WebSocket (raw PTY), MB/s | {size / through / 1e6:,.1f} |")
    print(f"| same command read straight from a PTY, MB/s | {size / raw / 1e6:,.1f} |")
    for name, value in rows.items():
        print(f"| {name} | {value} |")
    print(f"\nratio (WebSocket / bare PTY) = {raw / through:.2f}")
    print("targets: >= 50 MB/s; echo p99 <= 10 ms with 100 sessions; <= 2 MiB per idle session")


async def measure(
    client: Client, command: bytes, pid: int, args: argparse.Namespace, data: Path
) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    session = await client.open()
    async with await client.attach(session) as ws:
        await ws.send(frames.input_frame(b"echo ready-$((1+1))\r"))
        await until(ws, b"ready-2")
        await ws.send(frames.input_frame(command))
        started = time.perf_counter()
        await until(ws, MARK)
        rows["throughput seconds"] = time.perf_counter() - started

    # Keystroke echo while other sessions print to their viewers.
    noisy: list[ClientConnection] = []
    async with anyio.create_task_group() as tg:
        for _ in range(args.sessions):
            ws = await client.attach(await client.open())
            await ws.send(frames.input_frame(b"while :; do echo tick; sleep 1; done\r"))
            noisy.append(ws)
            tg.start_soon(drain, ws)
        probe_id = await client.open()
        async with await client.attach(probe_id) as probe:
            await probe.send(frames.input_frame(b"echo probe-$((2+2))\r"))
            await until(probe, b"probe-4")
            await anyio.sleep(1.0)
            latencies = await echoes(probe, args.keys)
        array = np.array(latencies) * 1000
        rows[f"echo p50 ms ({args.sessions} sessions printing)"] = f"{np.percentile(array, 50):.2f}"
        rows[f"echo p99 ms ({args.sessions} sessions printing)"] = f"{np.percentile(array, 99):.2f}"
        for ws in noisy:
            await ws.close()
        tg.cancel_scope.cancel()

    # Idle sessions: no viewer, a shell waiting at its prompt.
    await anyio.sleep(2)
    before = rss(pid)
    for _ in range(args.idle):
        await client.open()
    await anyio.sleep(3)
    grown = (rss(pid) - before) / args.idle
    rows[f"server memory per idle session ({args.idle} sessions), KiB"] = f"{grown / 1024:,.0f}"
    return rows


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


async def drain(ws: ClientConnection) -> None:
    try:
        async for message in ws:
            if isinstance(message, bytes) and message[0] == frames.OUTPUT:
                await ws.send(frames.ack_frame(len(message) - 1))
    except Exception:
        return


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument("--opens", type=int, default=30)
    parser.add_argument("--part", choices=("all", "sandbox"), default="all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        anyio.run(bench, args, Path(data))


if __name__ == "__main__":
    main()
