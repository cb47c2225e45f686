"""The classic layout on loopback: every role its own `aiss serve --role` process.

MongoDB and S3 are real servers reached over TCP (the embedded ones, run by
the caller's event loop); the tests and benchmarks talk to the gateway.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import httpx

from actors import DynamicSupervisor, running
from aiss.config import ROLE_PORTS, role_url_variable
from aiss.storage.embedded import EmbeddedMongo, EmbeddedS3

from .conftest import secret_in
from .servers import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable
    from pathlib import Path

ADMIN_PASSWORD = "Roles-are-apart-2026"


@asynccontextmanager
async def roles_running(
    tmp: Path, roles: Iterable[str] = tuple(ROLE_PORTS), **env: str
) -> AsyncIterator[Layout]:
    """`roles` started against a MongoDB wire server and an S3 server of this process."""
    mongo, s3 = EmbeddedMongo(tmp / "mongo"), EmbeddedS3(tmp / "s3", region="us-east-1")
    tree = DynamicSupervisor("servers")
    async with running(tree):
        await tree.start_child(mongo)
        await tree.start_child(s3)
        async with layout(tmp, mongo, s3, roles, env) as started:
            yield started


@dataclass(frozen=True)
class Layout:
    tmp: Path
    urls: dict[str, str]  # role -> base URL
    ssh_port: int  # the SSH gateway's


@asynccontextmanager
async def layout(
    tmp: Path, mongo: EmbeddedMongo, s3: EmbeddedS3, roles: Iterable[str], extra: dict[str, str]
) -> AsyncIterator[Layout]:
    """Start `roles`, each as its own process; yield once all are ready."""
    ports = {role: free_port() for role in ROLE_PORTS}
    wanted = set(roles)
    key, secret = s3.credentials()
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "HF_HOME", "HF_HUB_CACHE")},
        "MONGODB_URI": mongo.uri,
        "MONGODB_DATABASE": "roles",
        "AISS_S3_ENDPOINT": s3.endpoint,
        "MINIO_ROOT_USER": key,
        "MINIO_ROOT_PASSWORD": secret,
        "MINIO_BUCKET": "roles",
        "JWT_SECRET": "x" * 48,
        "AISS_ENCRYPTION_KEY": "y" * 48,
        "ADMIN_INITIAL_PASSWORD": ADMIN_PASSWORD,
        "AISS_ARGON2_TIME_COST": "1",
        "AISS_ARGON2_MEMORY": "8MiB",
        "AISS_EMBEDDING_THREADS": "1",
        "AISS_INGEST_WORKERS": "1",
        "AISS_LOG_FORMAT": "text",
        "LOG_LEVEL": "warning",
        "AISS_SSH_PORT": "0",
        **{
            role_url_variable(role): f"http://127.0.0.1:{port}"
            for role, port in ports.items()
            if role != "gateway"
        },
        **extra,
    }
    processes = []
    ssh_port = free_port()
    try:
        for role, port in ports.items():
            if role not in wanted:
                continue
            role_env = env | {
                "AISS_DATA_DIR": str(tmp / role),
                "AISS_NODE": f"127.0.0.1:{port}",
            }
            if role == "terminal-gateway":
                role_env["AISS_SSH_PORT"] = str(ssh_port)
            with (tmp / f"{role}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(  # noqa: ASYNC220 - started once, watched over HTTP
                        [
                            sys.executable,
                            "-m",
                            "aiss",
                            "serve",
                            "--role",
                            role,
                            "--port",
                            str(port),
                        ],
                        env=role_env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        urls = {role: f"http://127.0.0.1:{port}" for role, port in ports.items() if role in wanted}
        async with httpx.AsyncClient(timeout=5) as client:
            for role, url in urls.items():
                await ready(client, role, url, tmp)
        yield Layout(tmp, urls, ssh_port)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:  # in a thread: the stores they are leaving are served by this loop
                await anyio.to_thread.run_sync(process.wait, 20)
            except subprocess.TimeoutExpired:
                process.kill()
        for role in wanted:
            text = await anyio.Path(tmp / f"{role}.log").read_text(errors="replace")
            assert secret_in(text) is None, f"a secret in the {role} role's log"


async def ready(client: httpx.AsyncClient, role: str, url: str, tmp: Path) -> None:
    with anyio.move_on_after(90):
        while True:
            try:
                if (await client.get(f"{url}/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await anyio.sleep(0.2)
    raise AssertionError(f"{role} never became ready:\n{(tmp / f'{role}.log').read_text()[-3000:]}")
