"""One benchmark client for two terminal servers: AISS and ttyd, side by side.

Both are driven the same way: a connection types bytes and reads output.
The AISS connection acknowledges output as the web UI does (every 16 KiB
consumed, or 50 ms after the last output), in the binary form; ttyd has no
acknowledgements (it reads its PTY again once a message is written).
Connections offer permessage-deflate as a browser does, unless told not to.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import httpx
from websockets.asyncio.client import ClientConnection, connect

from terminal import frames
from tests.servers import aiss_serve, free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

PASSWORD = "Bench-Passw0rd-123"
ACK_EVERY = 16 * 1024  # as the web UI
ACK_AFTER = 0.05  # seconds after the last output


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """CPU time of one process so far, all its threads (not its children), in seconds."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):  # a thread that ended meanwhile
            continue
    return total / 1e9


def write_file(path: Path, megabytes: int) -> int:
    line = b"x" * 99 + b"\n"
    with path.open("wb") as file:
        for _ in range(megabytes * 10_000):
            file.write(line)
    return megabytes * 10_000 * len(line)


async def until(ws: ClientConnection, pattern: bytes, *, ack: bool = True) -> int:
    """Read AISS output (acknowledging each frame) until `pattern`; the bytes read."""
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


class Client:
    """AISS's REST side: open a session, get a ticket, attach."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers

    async def open(self) -> str:
        response = await self.http.post(
            "/api/v1/terminal/sessions", json={"target": {"type": "local"}}, headers=self.headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def attach(self, session_id: str, *, deflate: bool = False) -> ClientConnection:
        granted = (
            await self.http.post(
                f"/api/v1/terminal/sessions/{session_id}/ticket", json={}, headers=self.headers
            )
        ).json()
        base = str(self.http.base_url).rstrip("/").replace("http://", "ws://")
        return await connect(
            f"{base}{granted['ws_path']}?ticket={granted['ticket']}",
            max_size=None,
            compression="deflate" if deflate else None,
        )


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


class Conn:
    """One terminal connection: type, and read output as it comes."""

    def __init__(self, ws: ClientConnection, *, input_kind: bytes, output_kind: int) -> None:
        self.ws = ws
        self._input = input_kind
        self._output = output_kind

    async def type(self, data: bytes) -> None:
        await self.ws.send(self._input + data)

    async def output(self) -> bytes:
        """The next output (other frames are skipped)."""
        while True:
            message = await self.ws.recv()
            if isinstance(message, bytes) and message and message[0] == self._output:
                self.consumed(len(message) - 1)
                return message[1:]

    def consumed(self, count: int) -> None:
        """Nothing to acknowledge here; AISS's connection does."""

    async def until(self, pattern: bytes) -> int:
        """Read output until `pattern` shows; the bytes read."""
        seen = b""
        total = 0
        while pattern not in seen:
            data = await self.output()
            total += len(data)
            seen = seen[-len(pattern) :] + data
        return total

    async def close(self) -> None:
        await self.ws.close()


class AissConn(Conn):
    def __init__(self, ws: ClientConnection, client: Client, session_id: str) -> None:
        super().__init__(ws, input_kind=bytes([frames.INPUT]), output_kind=frames.OUTPUT)
        self.client = client
        self.session_id = session_id
        self._unacked = 0
        self._timer: asyncio.TimerHandle | None = None
        self._acks: set[asyncio.Future[None]] = set()

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await super().close()
        await self.client.http.delete(
            f"/api/v1/terminal/sessions/{self.session_id}", headers=self.client.headers
        )

    def consumed(self, count: int) -> None:
        self._unacked += count
        if self._unacked >= ACK_EVERY:
            self._ack()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(ACK_AFTER, self._ack)

    def _ack(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._unacked:
            frame, self._unacked = frames.count_frame(self._unacked), 0
            task = asyncio.ensure_future(self._send(frame))
            self._acks.add(task)
            task.add_done_callback(self._acks.discard)

    async def _send(self, frame: bytes) -> None:
        try:
            await self.ws.send(frame)
        except Exception:  # closed meanwhile
            return


class Target(Protocol):
    name: str
    pid: int

    async def connect(self, *, deflate: bool) -> Conn: ...


class Aiss:
    name = "AISS"

    def __init__(self, client: Client, pid: int) -> None:
        self.client = client
        self.pid = pid

    async def connect(self, *, deflate: bool) -> Conn:
        session_id = await self.client.open()
        ws = await self.client.attach(session_id, deflate=deflate)
        return AissConn(ws, self.client, session_id)


@asynccontextmanager
async def aiss(data: Path) -> AsyncIterator[Aiss]:
    limits = httpx.Limits(max_connections=200)
    async with aiss_serve(server_env(data), limits=limits) as (server, http):
        yield Aiss(await admin(http), server.pid)


class Ttyd:
    name = "ttyd"

    def __init__(self, port: int, pid: int) -> None:
        self.port = port
        self.pid = pid

    async def connect(self, *, deflate: bool) -> Conn:
        ws = await connect(
            f"ws://127.0.0.1:{self.port}/ws",
            subprotocols=["tty"],  # type: ignore[list-item]
            max_size=None,
            compression="deflate" if deflate else None,
        )
        await ws.send(b'{"AuthToken": "", "columns": 200, "rows": 50}')
        return Conn(ws, input_kind=b"0", output_kind=ord("0"))


@asynccontextmanager
async def ttyd(
    binary: str, home: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[Ttyd]:
    port = free_port()
    argv = [binary, "-W", "-p", str(port), "-i", "127.0.0.1", "-w", str(home)]
    argv += ["bash", "--norc", "--noprofile", "-i"]
    extra: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process = await anyio.open_process(argv, env=dict(env or os.environ), **extra)
    try:
        with anyio.fail_after(30):
            while True:
                try:
                    async with httpx.AsyncClient() as http:
                        await http.get(f"http://127.0.0.1:{port}/")
                    break
                except httpx.TransportError:
                    await anyio.sleep(0.05)
        yield Ttyd(port, process.pid)
    finally:
        process.terminate()
        with anyio.CancelScope(shield=True):
            await process.wait()
