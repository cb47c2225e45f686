"""A worker process: calls in the child, crashes that fail only what was in flight, no orphans."""

from __future__ import annotations

import functools
import os
import signal
import sys
import textwrap
from pathlib import Path

import anyio
import numpy as np
import pytest

from actors import Supervisor, running
from aiss.workers.process import Worker, WorkerFailed

from .procs import gone, wait_gone
from .targets import Flaky, Target, broken

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[3]


def worker(label: str = "a") -> Worker:
    return Worker("test.worker", functools.partial(Target, label), shutdown_timeout=2)


async def test_calls_run_in_the_child_in_order_with_their_errors() -> None:
    w = worker()
    async with running(Supervisor("root", [w])):
        label, pid = await w.call("whoami")
        assert label == "a" and pid == w.pid and pid != os.getpid()
        assert w.description == "target a"
        array = np.arange(100_000, dtype=np.float32)
        assert np.array_equal(await w.call("echo", array), array)
        with pytest.raises(KeyError, match="nope"):
            await w.call("refuse", "nope")
        with pytest.raises(RuntimeError, match="Local: made here"):
            await w.call("unpicklable")
        results = []

        async def echo(n: int) -> None:
            results.append((n, await w.call("echo", n)))

        async with anyio.create_task_group() as tg:
            for n in range(50):
                tg.start_soon(echo, n)
        assert sorted(results) == [(n, n) for n in range(50)]
    await wait_gone(pid, 3)


async def test_a_cancelled_call_leaves_the_next_answers_right() -> None:
    w = worker()
    async with running(Supervisor("root", [w])):
        with anyio.move_on_after(0.1):
            await w.call("sleep", 0.5)
        assert await w.call("echo", "after") == "after"  # not the late "slept"


async def test_a_crash_fails_the_calls_in_it_and_a_new_worker_serves_the_next() -> None:
    w = worker()
    async with running(Supervisor("root", [w], max_restarts=5)):
        _, first = await w.call("whoami")
        failed: list[WorkerFailed] = []

        async def in_flight() -> None:
            with pytest.raises(WorkerFailed) as caught:
                await w.call("sleep", 30)
            failed.append(caught.value)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(in_flight)
                await anyio.wait_all_tasks_blocked()
                os.kill(first, signal.SIGKILL)
        assert failed and failed[0].status == 503
        _, second = await w.call("whoami")  # waits for the restart
        assert second != first
        assert w.metrics.restarts == 1
        with pytest.raises(WorkerFailed):
            await w.call("crash")
        assert (await w.call("whoami"))[0] == "a"
        assert w.metrics.restarts == 2
    await wait_gone(first)


async def test_a_caller_waits_through_a_failed_restart_for_the_next_worker(
    tmp_path: Path,
) -> None:
    w = Worker("test.flaky", functools.partial(Flaky, str(tmp_path / "starts")))
    async with running(Supervisor("root", [w], max_restarts=5)):
        assert await w.call("starts") == 1
        os.kill(w.pid or 0, signal.SIGKILL)
        with anyio.fail_after(20):
            while w._stdin is not None:  # until the death is seen: then the call waits
                await anyio.sleep(0.01)
            assert await w.call("starts") == 1  # after the failed second start, the third
        assert (tmp_path / "starts").read_text() == "3"


async def test_what_the_server_cannot_read_fails_only_its_call(tmp_path: Path) -> None:
    w = Worker("test.flaky", functools.partial(Flaky, str(tmp_path / "starts")))
    async with running(Supervisor("root", [w])):
        # A library's exception comes back as a RuntimeError naming it: unpickling it
        # here would import that library into the server.
        with pytest.raises(RuntimeError, match="Foreign: from a library"):
            await w.call("foreign")
        with pytest.raises(AttributeError, match="pickle"):
            await w.call("unpicklable")
        with pytest.raises(RuntimeError, match="Panic: a library panicked"):
            await w.call("panic")
        assert await w.call("starts") == 1
        assert w.metrics.restarts == 0


async def test_a_worker_stopped_for_good_fails_its_callers_at_once() -> None:
    w = worker()
    async with running(Supervisor("root", [w])):
        assert await w.call("echo", 1) == 1
    with anyio.fail_after(2), pytest.raises(WorkerFailed, match="not running"):
        await w.call("echo", 2)


async def test_a_worker_that_cannot_start_says_why() -> None:
    worker = Worker("test.broken", broken)
    with pytest.raises(WorkerFailed, match="did not start: RuntimeError: no model here"):
        async with running(Supervisor("root", [worker], max_restarts=0)):
            pass


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
async def test_the_child_dies_with_its_parent(how: signal.Signals) -> None:
    """However the parent ends, its worker goes: PR_SET_PDEATHSIG for what no code sees."""
    script = textwrap.dedent(
        """
        import functools, sys, anyio
        from actors import Supervisor, running
        from aiss.workers.process import Worker
        from tests.aiss.workers.targets import Target

        async def main():
            w = Worker("w", functools.partial(Target, "x"))
            async with running(Supervisor("root", [w])):
                print(w.pid, flush=True)
                await w.call("sleep", 3600)

        anyio.run(main)
        """
    )
    async with await anyio.open_process(
        [sys.executable, "-c", script], cwd=ROOT, stderr=None
    ) as parent:
        assert parent.stdout is not None
        child = int(await parent.stdout.receive())
        assert not gone(child)
        parent.send_signal(how)
        await parent.wait()
        await wait_gone(child)
