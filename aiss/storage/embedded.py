"""The embedded servers `aiss serve` runs when no external store is configured.

Each is a supervised service: the nx-27017 MongoDB wire server (SQLite
underneath) and the nanio S3 server. Clients reach them with the same drivers
as in production. The wire server has no authentication, so it listens on a
Unix socket in a directory only the server's user may enter (a loopback port
would be open to every local shell); the S3 server checks signatures and
listens on loopback. A restart keeps the address, so clients find it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import secrets
import socket
import tempfile
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio
import anyio.to_thread
import uvicorn

from actors import Service

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from anyio.abc import TaskStatus


class EmbeddedMongo(Service):
    def __init__(self, data_dir: Path, *, name: str = "embedded_mongo") -> None:
        super().__init__(name)
        self.data_dir = data_dir
        self.socket: str | None = None

    @property
    def uri(self) -> str:
        if self.socket is None:
            raise RuntimeError("the embedded MongoDB server has not started")
        return f"mongodb://{quote(self.socket, safe='')}/?directConnection=true"

    def _place(self) -> str:
        """The socket's path: short (a socket's path has ~100 bytes at most), in a
        directory of this user alone, the same one again after a restart."""
        if self.socket is None:
            self.socket = os.path.join(tempfile.mkdtemp(prefix="aiss-mongo-"), "mongod.sock")
        folder = os.path.dirname(self.socket)
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)  # removed at the last stop; made again, atomically
        if os.lstat(folder).st_uid != os.geteuid() or os.lstat(folder).st_mode & 0o077:
            raise RuntimeError(f"{folder} is not this server's own directory")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)
        return self.socket

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        from nx_27017.handler import NeoSQLiteHandler
        from nx_27017.server import handle_client

        self.data_dir.mkdir(parents=True, exist_ok=True)
        handler = NeoSQLiteHandler(data_dir=str(self.data_dir))
        writers: set[asyncio.StreamWriter] = set()

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.add(writer)
            try:
                await handle_client(reader, writer, handler)
            finally:
                writers.discard(writer)

        try:
            path = self._place()
            server = await asyncio.start_unix_server(client, path)
            try:
                task_status.started()
                await stop.wait()
            finally:
                server.close()
                # Python 3.11's Server.close leaves accepted connections open.
                for writer in list(writers):
                    writer.close()
                with anyio.move_on_after(2, shield=True):
                    await server.wait_closed()
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    os.rmdir(os.path.dirname(path))
        finally:
            await anyio.to_thread.run_sync(_close_when_idle, handler)


def _close_when_idle(handler: Any) -> None:
    """Close the handler's SQLite connections once no command runs on them.

    Commands run in worker threads and outlive the connections' tasks; a
    connection closed under a running statement crashes the interpreter. Each
    command holds its database's lock, so holding them all means none runs.
    """
    with handler._dict_lock:
        locks = [handler._db_lock, *handler._locks.values()]
    with contextlib.ExitStack() as held:
        for lock in locks:
            if lock.acquire(timeout=10):
                held.callback(lock.release)
        handler.close_all()


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process's main server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class EmbeddedS3(Service):
    def __init__(self, data_dir: Path, *, region: str, name: str = "embedded_s3") -> None:
        super().__init__(name)
        self.data_dir = data_dir
        self.region = region
        self.port: int | None = None

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise RuntimeError("the embedded S3 server has not started")
        return f"http://127.0.0.1:{self.port}"

    def credentials(self) -> tuple[str, str]:
        """Generated on first use and kept (readable by the owner only) in the data dir."""
        path = self.data_dir / "credentials.json"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            pair = {
                "access_key": f"aiss{secrets.token_hex(8)}",
                "secret_key": secrets.token_urlsafe(32),
            }
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                json.dump(pair, file)
        stored = json.loads(path.read_text())
        return str(stored["access_key"]), str(stored["secret_key"])

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        from nanio.app import build_app
        from nanio.auth.credentials import StaticCredentialResolver
        from nanio.config import Settings as NanioSettings

        access_key, secret_key = self.credentials()
        objects = self.data_dir / "objects"
        objects.mkdir(parents=True, exist_ok=True)
        app = build_app(
            NanioSettings(
                data_dir=objects,
                region=self.region,
                credentials=StaticCredentialResolver({access_key: secret_key}),
                access_log=False,
            )
        )
        config = uvicorn.Config(
            app, lifespan="off", log_config=None, access_log=False, timeout_graceful_shutdown=2
        )
        server = _QuietServer(config)
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Accepted connections inherit it; without it, uvicorn's response
            # (headers, then body) waits ~40 ms on the client's delayed ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind(("127.0.0.1", self.port or 0))

            # Its own thread and event loop: nanio writes, fsyncs and renames files
            # in its handlers, which would stall every session and request here.
            run = functools.partial(server.run, sockets=[sock])
            async with anyio.create_task_group() as tg:
                thread = anyio.CapacityLimiter(1)  # its own, not one of the shared pool's
                tg.start_soon(functools.partial(anyio.to_thread.run_sync, run, limiter=thread))
                try:
                    with anyio.fail_after(10):
                        while not server.started:
                            if server.should_exit:
                                raise RuntimeError("the embedded S3 server did not start")
                            await anyio.sleep(0.01)
                    self.port = sock.getsockname()[1]
                    task_status.started()
                    await stop.wait()
                finally:
                    server.should_exit = True  # its loop looks every 0.1 s, then drains (2 s)
