"""A local PTY ended while a task waits on it: the waiter returns, and the fd number,
handed out again, works for the next terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import pytest

from terminal.pty import LocalPty
from terminal.sandbox import plain

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio


def shell(cwd: Path, command: str) -> LocalPty:
    launch = plain(["/bin/sh", "-c", command], cwd)
    return LocalPty.spawn(launch, env={"PATH": "/usr/bin:/bin"}, cols=80, rows=24)


async def test_terminate_wakes_a_writer_and_frees_the_fd_for_the_next_terminal(
    tmp_path: Path,
) -> None:
    stalled = shell(tmp_path, "sleep 30")  # never reads its input
    returned = anyio.Event()

    async def paste() -> None:
        await stalled.write(b"x" * (1 << 20))  # more than the terminal takes
        returned.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(paste)
        await anyio.wait_all_tasks_blocked()  # the writer waits for room that never comes
        assert not returned.is_set()
        number = stalled.master
        await stalled.terminate()
        with anyio.fail_after(5):
            await returned.wait()
    following = shell(tmp_path, "read line; echo got-$line")
    try:
        assert following.master == number  # the lowest free fd: the one just closed
        await following.write(b"it\n")
        seen = b""
        with anyio.fail_after(5):
            while b"got-it" not in seen:
                seen += await following.read()
    finally:
        await following.terminate()


async def test_a_flood_lets_other_tasks_run_between_reads(tmp_path: Path) -> None:
    """Reads of a terminal that always has output ready never wait: each still yields,
    so one flooding shell cannot hold the event loop (and every other session)."""
    flood = shell(tmp_path, "stty raw -echo; exec cat /dev/zero")
    others = 0

    async def another_session() -> None:
        nonlocal others
        while True:
            await anyio.lowlevel.checkpoint()
            others += 1

    try:
        while not (await flood.read()).startswith(b"\0"):
            pass  # past stty's start
        async with anyio.create_task_group() as tg:
            tg.start_soon(another_session)
            await anyio.lowlevel.checkpoint()
            ran, full = others, 0
            for _ in range(200):
                full += len(await flood.read()) == 65536
            tg.cancel_scope.cancel()
        assert full >= 20  # reads that found more ready than one read takes
        assert others - ran >= full // 2
    finally:
        await flood.terminate()


async def test_a_cancelled_terminate_still_kills_and_reaps_the_shell(tmp_path: Path) -> None:
    """A session's stop can be cut short (its supervisor's deadline): the shell goes all
    the same, reaped, not left running behind a forgotten process object."""
    stubborn = shell(tmp_path, "trap '' HUP; echo ready; exec sleep 30")
    seen = b""
    with anyio.fail_after(5):
        while b"ready" not in seen:  # closing the PTY will not end it now
            seen += await stubborn.read()
    with anyio.move_on_after(0.1):  # within the grace it gives the shell
        await stubborn.terminate()
    with anyio.fail_after(10):
        while stubborn.process.returncode is None:
            await anyio.sleep(0.05)
    assert stubborn.exit_code == 128 + 9
