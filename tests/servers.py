"""Real servers on loopback for the tests."""

from __future__ import annotations

import socket
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import httpx
import uvicorn

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

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
