"""The model in its worker process, on a real `aiss serve`: crashes, stops and kills."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import TYPE_CHECKING

import anyio
import pytest

from ...servers import aiss_serve, serve_env
from ..routes.conftest import ADMIN_PASSWORD, Api
from ..workers.procs import descendants, niceness, wait_gone, workers_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from anyio.abc import Process

pytestmark = pytest.mark.anyio
MODEL = "general.model"


def env(root: Path) -> dict[str, str]:
    return serve_env(root, ADMIN_PASSWORD)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[Process, Api]]:
    async with aiss_serve(env(tmp_path)) as (process, http):
        yield process, Api(http)


def restarts(metrics: str, child: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("aiss_actor_restarts_total{") and f'actor="{child}"' in line
    )


async def test_a_model_worker_crash_fails_only_its_batch(server: tuple[Process, Api]) -> None:
    process, api = server
    token = await api.token()
    (worker,) = workers_of(process.pid, MODEL)
    metrics = (await api.http.get("/metrics")).text
    assert 'actor="root/embedding/general.model"' in metrics
    long_texts = [f"text {i} " + "word " * 200 for i in range(800)]  # seconds of work
    answers: dict[str, int] = {}

    async def heavy() -> None:
        response = await api.call("POST", "/embeddings", token, json={"input": long_texts})
        answers["heavy"] = response.status_code
        assert response.json()["error"] == "unavailable", response.text

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(heavy)
            # The heavy request is in the model once its first batches are done.
            while (
                "aiss_embedding_batch_rows_count"
                not in (metrics := (await api.http.get("/metrics")).text)
                or 'aiss_embedding_batch_rows_count{model="general"} 0.0' in metrics
            ):
                await anyio.sleep(0.05)
            os.kill(worker, signal.SIGKILL)
    assert answers["heavy"] == 503
    # A new worker takes over; callers before and after it are served.
    response = await api.call("POST", "/embeddings", token, json={"input": ["after the crash"]})
    assert response.status_code == 200, response.text
    (replacement,) = workers_of(process.pid, MODEL)
    assert replacement != worker
    metrics = (await api.http.get("/metrics")).text
    assert restarts(metrics, "root/embedding/general.model") == 1
    assert restarts(metrics, "root/embedding/general") == 0  # the queue was kept


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
async def test_no_process_is_left_when_the_server_ends(tmp_path: Path, how: signal.Signals) -> None:
    async with aiss_serve(env(tmp_path)) as (process, http):
        api = Api(http)
        token = await api.token()
        response = await api.call("POST", "/embeddings", token, json={"input": ["warm"]})
        assert response.status_code == 200
        left = descendants(process.pid)
        assert workers_of(process.pid, MODEL) and workers_of(process.pid, "vectors.engine"), left
        # Ingestion's own worker runs after the server's work, in its session's group too.
        (ingest,) = workers_of(process.pid, "general.ingest")
        assert niceness(ingest)[0] == 10 and niceness(ingest)[1] in (10, None)
        process.send_signal(how)
        with anyio.fail_after(30):
            await process.wait()
    for pid in left:
        await wait_gone(pid)


async def test_a_hung_model_worker_is_ended_and_replaced(tmp_path: Path) -> None:
    async with aiss_serve({**env(tmp_path), "AISS_EMBED_TIMEOUT": "2s"}) as (process, http):
        api = Api(http)
        token = await api.token()
        (worker,) = workers_of(process.pid, MODEL)
        os.kill(worker, signal.SIGSTOP)  # alive, and never answering
        try:
            response = await api.call("POST", "/embeddings", token, json={"input": ["stuck"]})
            assert response.status_code == 504, response.text
            with anyio.fail_after(30):
                while True:
                    response = await api.call("POST", "/embeddings", token, json={"input": ["x"]})
                    if response.status_code == 200:
                        break
                    assert response.status_code in (503, 504), response.text  # while replaced
            assert workers_of(process.pid, MODEL) != [worker]
            await wait_gone(worker)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)
