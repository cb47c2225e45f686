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
  themselves are other processes and not counted).
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


async def bench(args: argparse.Namespace, data: Path) -> None:
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
            latencies = []
            for _ in range(args.keys):
                started = time.perf_counter()
                await probe.send(frames.input_frame(b"k"))
                await until(probe, b"k")
                latencies.append(time.perf_counter() - started)
                await probe.send(frames.input_frame(b"\x7f"))
                await until(probe, b"\x08")
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        anyio.run(bench, args, Path(data))


if __name__ == "__main__":
    main()
