"""What terminal sessions cost the server's memory, measured on a real `aiss serve`:
output written a byte at a time, a detached flood, and an object store that stops."""

from __future__ import annotations

import os
import re
import secrets
import signal
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from ...servers import aiss_serve, free_port
from ..routes.conftest import ADMIN_PASSWORD, Api
from ..routes.terminal_client import attached, open_local

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from anyio.abc import Process

pytestmark = pytest.mark.anyio
SCROLLBACK = 1 << 20  # the default
PER_SESSION = SCROLLBACK + 256 * 1024  # what a session may cost, as promised
SESSIONS = 20
# Past the scrollback, so every ring wraps; a byte per write costs the kernel some
# 3 s a megabyte, so twenty sessions of 5 MB would take minutes of both cores.
BYTES = 1_500_000
ONE_BYTE_WRITES = f"perl -e '$|=1; print \"y\" for 1..{BYTES}'"  # a write() per byte


def rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert found
    return int(found.group(1)) * 1024


async def metric(http: httpx.AsyncClient, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", (await http.get("/metrics")).text, re.M)
    assert found, name
    return float(found.group(1))


@asynccontextmanager
async def object_store(data: Path) -> AsyncIterator[tuple[Process, dict[str, str]]]:
    """An S3 server of its own process (nanio), so the test can stop it."""
    port = free_port()
    key, secret = f"test{secrets.token_hex(6)}", secrets.token_urlsafe(24)
    process = await anyio.open_process(
        [
            sys.executable,
            "-m",
            "nanio",
            "serve",
            "--data-dir",
            str(data),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={"PATH": os.environ["PATH"], "NANIO_ACCESS_KEY": key, "NANIO_SECRET_KEY": secret},
    )
    try:
        yield (
            process,
            {
                "AISS_S3_ENDPOINT": f"http://127.0.0.1:{port}",
                "MINIO_ROOT_USER": key,
                "MINIO_ROOT_PASSWORD": secret,
            },
        )
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        with anyio.CancelScope(shield=True):
            await process.wait()


@pytest.fixture(scope="module")
async def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Process, Api, Process]]:
    root = tmp_path_factory.mktemp("memory")
    async with object_store(root / "s3") as (store, s3):
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(root),
            "AISS_DATA_DIR": str(root / "data"),
            "AISS_ENV_FILE": "",
            "ADMIN_INITIAL_PASSWORD": ADMIN_PASSWORD,
            "AISS_ARGON2_TIME_COST": "1",
            "AISS_ARGON2_MEMORY": "8MiB",
            "AISS_SSH_PORT": "0",
            "AISS_TERMINAL_MAX_PER_USER": str(SESSIONS + 5),
            **s3,
        }
        async with aiss_serve(env) as (process, http):
            yield process, Api(http), store


async def start(api: Api, token: str, command: str) -> str:
    """A session running `command`, left detached."""
    session = await open_local(api, token)
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        await term.type(command.encode() + b"\r")
        await term.expect(b"\x1b]133;C\x07")  # it runs
    return str(session["id"])


async def warm(api: Api, token: str) -> None:
    """Four sessions at once from start to end, each past its scrollback, so what all
    sessions share (pools, the allocator's free lists) is there before measuring."""

    async def one() -> None:
        session = await open_local(api, token)
        async with attached(api, token, session["id"]) as term:
            await term.status("replay-end")
            await term.type(b"seq 1 300000; exit\r")
            await term.status("exit", seconds=60)

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(one)


async def watch(process: Process, peak: list[int], stop: anyio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss(process.pid))
        await anyio.sleep(0.05)


@pytest.mark.timeout(300)
async def test_twenty_sessions_writing_a_byte_at_a_time_cost_their_scrollback(
    server: tuple[Process, Api, Process],
) -> None:
    """Four at a time (more share the cores so thinly that reads gather bytes), each
    shell kept open with its scrollback full, then all ended."""
    process, api, _ = server
    token = await api.token()
    await warm(api, token)
    baseline = rss(process.pid)
    peak, done = [baseline], anyio.Event()
    ids: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch, process, peak, done)
        with anyio.fail_after(240):
            while len(ids) < SESSIONS:
                ids += [await start(api, token, ONE_BYTE_WRITES) for _ in range(4)]
                while await metric(api.http, "aiss_terminal_output_bytes") < len(ids) * BYTES:
                    await anyio.sleep(0.5)
        held = await metric(api.http, "aiss_terminal_scrollback_bytes")
        for session_id in ids:
            await api.call("DELETE", f"/terminal/sessions/{session_id}", token)
        done.set()
    after = rss(process.pid)
    grown = peak[0] - baseline
    assert SESSIONS * SCROLLBACK <= held <= SESSIONS * (SCROLLBACK + 16 * 1024)
    assert grown <= SESSIONS * PER_SESSION, f"grew {grown / 2**20:.1f} MiB"
    assert after <= baseline * 1.10, f"{baseline / 2**20:.0f} -> {after / 2**20:.0f} MiB"


async def test_a_detached_flood_with_the_object_store_stopped_stays_bounded(
    server: tuple[Process, Api, Process],
) -> None:
    process, api, store = server
    token = await api.token()
    await warm(api, token)
    baseline = rss(process.pid)
    peak, done = [baseline], anyio.Event()
    store.send_signal(signal.SIGSTOP)  # stopped, not gone: every request just waits
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch, process, peak, done)
            session_id = await start(api, token, "yes flooding-while-storage-sleeps")
            backlog = 0.0
            with anyio.fail_after(60):
                for _ in range(30):
                    await anyio.sleep(1)
                    backlog = max(
                        backlog, await metric(api.http, "aiss_terminal_recording_backlog_bytes")
                    )
            lost = await metric(api.http, "aiss_terminal_recording_lost_bytes")
            out = await metric(api.http, "aiss_terminal_output_bytes")
            done.set()
    finally:
        store.send_signal(signal.SIGCONT)
    assert out > 100 * PER_SESSION  # it flooded: many scrollbacks' worth went through
    # What the scrollback holds unstored, and a part on its way (as JSON).
    assert 0 < backlog <= SCROLLBACK + 2 * 256 * 1024, backlog
    assert lost > out / 2  # what storage could not take is left out, and counted
    grown = peak[0] - baseline
    assert grown <= PER_SESSION, f"grew {grown / 2**20:.1f} MiB"
    with anyio.fail_after(30):
        await api.call("DELETE", f"/terminal/sessions/{session_id}", token)
    record = (await api.call("GET", f"/terminal/sessions/{session_id}", token)).json()
    assert record["recording_lost"] >= lost
