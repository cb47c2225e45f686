"""SIGTERM under load, on a real `aiss serve` process: in-flight requests finish,
terminal viewers get an exit status, recordings are flushed, no process of a
session is left, and no acknowledged upload is lost."""

from __future__ import annotations

import json
import os
import secrets
import signal
from typing import TYPE_CHECKING

import anyio
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from terminal import frames
from tests.servers import aiss_serve

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

pytestmark = pytest.mark.anyio

PASSWORD = "Shutdown-Passw0rd-9"


def environment(data: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME")},
        "AISS_DATA_DIR": str(data),
        "ADMIN_INITIAL_PASSWORD": PASSWORD,
        "AISS_ARGON2_TIME_COST": "1",
        "AISS_ARGON2_MEMORY": "8MiB",
        "AISS_SSH_PORT": "0",
        "AISS_SHUTDOWN_TIMEOUT": "10s",
        "AISS_EMBEDDING_THREADS": "1",
        "LOG_LEVEL": "warning",
    }


async def login(http: httpx.AsyncClient) -> dict[str, str]:
    response = await http.post(
        "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.mark.timeout(240)
async def test_sigterm_under_load_loses_nothing(tmp_path: Path) -> None:
    async with aiss_serve(environment(tmp_path)) as (process, http):
        auth = await login(http)
        session = (
            await http.post(
                "/api/v1/terminal/sessions", headers=auth, json={"target": {"type": "local"}}
            )
        ).json()
        ticket = (
            await http.post(
                f"/api/v1/terminal/sessions/{session['id']}/ticket", headers=auth, json={}
            )
        ).json()["ticket"]
        base = str(http.base_url).rstrip("/").replace("http://", "ws://")
        url = f"{base}{session['ws_path']}?ticket={ticket}"
        async with connect(url, max_size=None) as ws:
            output = bytearray()
            statuses: list[dict[str, object]] = []

            async def read_one() -> None:
                message = await ws.recv()
                assert isinstance(message, bytes)
                if message[0] == frames.OUTPUT:
                    output.extend(message[1:])
                    await ws.send(frames.ack_frame(len(message) - 1))
                elif message[0] == frames.STATUS:
                    statuses.append(json.loads(message[1:]))

            async def read_until(pattern: bytes) -> None:
                while pattern not in output:
                    await read_one()

            nap = f"sleep {300 + secrets.randbelow(10**6) / 10**6:.6f}"  # only this test's
            job = f"echo shell-$((4+4))-up; (trap '' HUP; {nap}) &\r".encode()
            await ws.send(frames.input_frame(job))
            with anyio.fail_after(15):
                await read_until(b"shell-8-up")
            await ws.send(frames.input_frame(b"echo before-$((20+3))\r"))
            with anyio.fail_after(15):
                await read_until(b"before-23")

            # Uploads acknowledged just before the signal, and one request in flight during it.
            accepted = []
            for i in range(5):
                sent = await http.post(
                    "/api/v1/documents",
                    headers=auth,
                    files={
                        "file": (f"n{i}.md", f"# Note {i}\n\nkept-{i} after a restart".encode())
                    },
                )
                assert sent.status_code == 202, sent.text
                accepted.append(sent.json()["id"])
            texts = [f"a sentence to embed, number {i}" for i in range(1500)]
            results: list[httpx.Response] = []

            async def in_flight() -> None:
                results.append(
                    await http.post("/api/v1/embeddings", headers=auth, json={"input": texts})
                )

            async with anyio.create_task_group() as tg:
                tg.start_soon(in_flight)
                await anyio.sleep(0.3)
                process.send_signal(signal.SIGTERM)
                # The viewer is told how the shell ended, then the socket closes.
                with anyio.fail_after(20):
                    try:
                        while True:
                            await read_one()
                    except ConnectionClosed:
                        pass
            assert results[0].status_code == 200, results[0].text
            assert len(results[0].json()["data"]) == len(texts)
            assert any(s.get("type") == "exit" for s in statuses), statuses
        with anyio.fail_after(30):
            await process.wait()
    assert process.returncode in (0, -signal.SIGTERM)
    # Nothing of the session is left: not the job that ignored SIGHUP (its shell, in a
    # PID namespace, went first: the job cannot outlive the namespace).
    leftovers = await anyio.run_process(["pgrep", "-f", nap], check=False)
    assert leftovers.stdout.strip() == b""

    # After a restart on the same data: every acknowledged upload is there and gets
    # ingested, and the recording holds what the session printed.
    async with aiss_serve(environment(tmp_path)) as (_, http):
        auth = await login(http)
        with anyio.fail_after(60):
            for document_id in accepted:
                while True:
                    doc = (await http.get(f"/api/v1/documents/{document_id}", headers=auth)).json()
                    if doc["status"] == "ready":
                        break
                    assert doc["status"] != "failed", doc
                    await anyio.sleep(0.1)
        record = (await http.get(f"/api/v1/terminal/sessions/{session['id']}", headers=auth)).json()
        assert record["status"] == "closed"
        cast = await http.get(f"/api/v1/terminal/sessions/{session['id']}/recording", headers=auth)
        assert cast.status_code == 200 and "before-23" in cast.text
