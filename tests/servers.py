"""Real servers on loopback for the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import httpx
import uvicorn

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping
    from pathlib import Path

    from anyio.abc import Process
    from starlette.types import ASGIApp


def free_port() -> int:
    with socket.socket() as sock:
        # Accepted connections inherit it: no ~40 ms Nagle/delayed-ACK stalls.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """Serve `app` with uvicorn on a loopback port; yield a client bound to it."""
    with socket.socket() as sock:
        # Accepted connections inherit it: no ~40 ms Nagle/delayed-ACK stalls.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        async with _serve(app, sock) as client:
            yield client


@asynccontextmanager
async def _serve(app: ASGIApp, sock: socket.socket) -> AsyncIterator[httpx.AsyncClient]:
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_config=None, ws="websockets-sansio")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            while not server.started:
                if server.should_exit:
                    raise RuntimeError("the server did not start")
                await anyio.sleep(0.01)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                yield client
        finally:
            server.should_exit = True


def serve_env(root: Path, admin_password: str, **extra: str) -> dict[str, str]:
    """What `aiss serve` needs on embedded defaults, in `root`: no SSH port, quick hashing."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(root),
        "AISS_DATA_DIR": str(root / "data"),
        "AISS_ENV_FILE": "",
        "ADMIN_INITIAL_PASSWORD": admin_password,
        "AISS_ARGON2_TIME_COST": "1",
        "AISS_ARGON2_MEMORY": "8MiB",
        "AISS_SSH_PORT": "0",
        **extra,
    }


@asynccontextmanager
async def aiss_serve(
    env: Mapping[str, str], *, limits: httpx.Limits | None = None
) -> AsyncIterator[tuple[Process, httpx.AsyncClient]]:
    """`aiss serve` as its own process with `env`, once ready: it and a client bound to it."""
    port = free_port()
    process = await anyio.open_process(
        [sys.executable, "-m", "aiss", "serve", "--port", str(port)],
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits or httpx.Limits()
        ) as http:
            with anyio.fail_after(60):
                while True:
                    try:
                        if (await http.get("/ready")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await anyio.sleep(0.1)
            yield process, http
    finally:
        if process.returncode is None:
            process.terminate()
        with anyio.CancelScope(shield=True):
            await process.wait()
