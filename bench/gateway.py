"""What the gateway role costs: the same requests straight to a role and through it.

    python -m bench.gateway [--requests 2000] [--megabytes 100]

Starts the users, terminal-sessions and gateway roles as `aiss serve --role`
processes (MongoDB and S3 served by this process, as in the tests). Rows:

- GET /api/v1/users/me (token checked by the users role) one at a time and 16
  at once: p50 and p99 latency, direct and through the gateway;
- terminal output: a raw-mode PTY printing a file through the WebSocket, direct
  to terminal-sessions and through the gateway (MB/s).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import numpy as np
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.terminal_client import until, write_file
from terminal import frames
from tests.roles import ADMIN_PASSWORD, roles_running


async def latencies(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], n: int, at_once: int
) -> list[float]:
    times: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            response = await http.get(url, headers=headers)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text

    async with anyio.create_task_group() as tg:
        for _ in range(at_once):
            tg.start_soon(worker, n // at_once)
    return times


async def throughput(
    api: str, http: httpx.AsyncClient, headers: dict[str, str], command: bytes, size: int
) -> float:
    """MB/s of `command`'s output through the WebSocket of a session opened at `api`."""
    sessions = f"{api}/api/v1/terminal/sessions"
    opened = await http.post(sessions, json={"target": {"type": "local"}}, headers=headers)
    session = opened.json()
    ticket = (
        await http.post(f"{sessions}/{session['id']}/ticket", json={}, headers=headers)
    ).json()
    ws_url = api.replace("http://", "ws://") + f"{session['ws_path']}?ticket={ticket['ticket']}"
    async with connect(ws_url, max_size=None) as ws:
        await ws.send(frames.input_frame(b"echo ready-$((1+1))\r"))
        await until(ws, b"ready-2")
        await ws.send(frames.input_frame(command))
        started = time.perf_counter()
        await until(ws, b"bench-done-42")
        seconds = time.perf_counter() - started
    await http.delete(f"{sessions}/{session['id']}", headers=headers)
    return size / seconds / 1e6


async def bench(args: argparse.Namespace, tmp: Path) -> None:
    roles = ("users", "terminal-sessions", "gateway")
    async with roles_running(tmp, roles, AISS_TERMINAL_MAX_PER_USER="100") as layout:
        urls = layout.urls
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as http:
            login = await http.post(
                f"{urls['gateway']}/api/v1/auth/login",
                json={"username": "admin", "password": ADMIN_PASSWORD},
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            rows = []
            for at_once in (1, 16):
                result = {}
                for name, base in (("direct", urls["users"]), ("gateway", urls["gateway"])):
                    url = f"{base}/api/v1/users/me"
                    await latencies(http, url, headers, 200, at_once)  # warm up
                    times = (
                        np.array(await latencies(http, url, headers, args.requests, at_once)) * 1000
                    )
                    result[name] = (np.percentile(times, 50), np.percentile(times, 99))
                rows.append((f"GET /users/me, {at_once} at once", result))
            big = tmp / "big.txt"
            size = await anyio.to_thread.run_sync(write_file, big, args.megabytes)
            command = f"stty raw -echo; cat {big}; echo; echo bench-done-$((40+2))\r".encode()
            direct = await throughput(urls["terminal-sessions"], http, headers, command, size)
            proxied = await throughput(urls["gateway"], http, headers, command, size)

    head = ("request", "direct p50", "p99", "gateway p50", "p99", "p50 ratio")
    print("{:<26} {:>11} {:>9} {:>12} {:>9} {:>10}".format(*head))
    for name, result in rows:
        (d50, d99), (g50, g99) = result["direct"], result["gateway"]
        cells = (name, f"{d50:.2f}ms", f"{d99:.2f}ms", f"{g50:.2f}ms", f"{g99:.2f}ms")
        print("{:<26} {:>11} {:>9} {:>12} {:>9}".format(*cells), f"{g50 / d50:>10.2f}")
    print()
    print("{:<26} {:>11} {:>12} {:>10}".format("terminal output", "direct", "gateway", "ratio"))
    mbps = (f"{args.megabytes} MB, raw PTY", f"{direct:.1f} MB/s", f"{proxied:.1f} MB/s")
    print("{:<26} {:>11} {:>12}".format(*mbps), f"{proxied / direct:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--megabytes", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(bench, args, Path(tmp))


if __name__ == "__main__":
    main()
