"""Sandbox backends on real PTYs: who the shell is, and that ending it ends all it started."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from terminal.processes import become_subreaper, snapshot
from terminal.pty import LocalPty
from terminal.sandbox import Config, Identity, UidSandbox, Unsandboxed, build

if TYPE_CHECKING:
    from collections.abc import Iterator

    from terminal.sandbox import Sandbox

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(os.geteuid() != 0, reason="uids of their own need root"),
]
STUBBORN = (
    b"setsid nohup sleep 6161 >/dev/null 2>&1 & (setsid sh -c 'sleep 6262 & exit' &);"
    b" (trap '' HUP TERM; exec sleep 6363) & echo up-$((1+1))\r"
)


@pytest.fixture(autouse=True, scope="module")
def _subreaper() -> None:
    assert become_subreaper()  # as the server is: orphans come back to be reaped


@pytest.fixture
def homes() -> Iterator[Path]:
    # pytest's own temporary directories are closed to other uids.
    Path("/var/lib/aiss").mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="test-homes-", dir="/var/lib/aiss"))
    os.chmod(root, 0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def home_of(homes: Path, name: str, uid: int) -> Identity:
    home = homes / name
    home.mkdir(mode=0o700)
    os.chown(home, uid, uid)
    return Identity(name, home, uid)


async def start(sandbox: Sandbox, identity: Identity) -> LocalPty:
    launch = sandbox.prepare(["/bin/bash", "--norc", "-i"], identity)
    env = {"PATH": "/usr/bin:/bin", "HOME": sandbox.home(identity), "TERM": "dumb"}
    return LocalPty.spawn(launch, env=env, cols=80, rows=24)


async def run(pty: LocalPty, line: bytes, until: bytes) -> bytes:
    await pty.write(line)
    seen = b""
    with anyio.fail_after(10):
        while not re.search(until, seen):
            seen += await pty.read()
    return seen


def sleepers(*marks: str) -> list[int]:
    found = []
    for proc in snapshot():
        try:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        except OSError:
            continue
        if any(f"sleep\x00{m}".encode() in cmdline for m in marks):
            found.append(proc.pid)
    return found


@pytest.mark.parametrize("backend", ["bwrap", "uid-cgroup", "uid-no-cgroup", "none"])
async def test_ending_a_shell_ends_what_it_started_and_nothing_else(
    backend: str, homes: Path
) -> None:
    config = Config(homes=homes)
    sandbox: Sandbox
    if backend == "uid-no-cgroup":
        sandbox = UidSandbox(config, None)  # a container's read-only cgroup tree
    else:
        sandbox = build(backend.split("-")[0], config)
    if backend == "uid-cgroup":
        assert isinstance(sandbox, UidSandbox) and sandbox.cgroups is not None
    alice, bob = home_of(homes, "alice", 231001), home_of(homes, "bob", 231002)
    mine = await start(sandbox, alice)
    other_shell_of_mine = await start(sandbox, alice)
    theirs = await start(sandbox, bob)
    try:
        await run(mine, STUBBORN, rb"up-2")
        await run(other_shell_of_mine, b"sleep 6464 & echo two-$((1+1))\r", rb"two-2")
        await run(theirs, b"sleep 6565 & echo three-$((1+1))\r", rb"three-2")
        with anyio.fail_after(5):
            while len(sleepers("6161", "6262", "6363")) < 3:
                await anyio.sleep(0.05)
        left = sleepers("6161", "6262", "6363")
        await mine.terminate()
        assert not [p for p in snapshot() if p.pid in left]  # reaped, not even zombies
        assert len(sleepers("6464", "6565")) == 2  # the others' shells and jobs live on
        if backend != "none":
            said = await run(theirs, b"id -u; echo done-$((2+2))\r", rb"done-4")
            assert b"231002" in said or b"1000" in said
    finally:
        for pty in (mine, other_shell_of_mine, theirs):
            await pty.terminate()
    assert not sleepers("6161", "6262", "6363", "6464", "6565")
    assert not (isinstance(sandbox, UidSandbox) and sandbox.live)


async def test_the_unsandboxed_shell_is_the_servers_own_user(homes: Path) -> None:
    sandbox = Unsandboxed(Config(homes=homes))
    pty = await start(sandbox, home_of(homes, "admin", 231003))
    try:
        said = await run(pty, b"echo uid=$(id -u)=\r", rb"uid=\d+=")
        assert f"uid={os.getuid()}=".encode() in said
    finally:
        await pty.terminate()


async def test_one_sandbox_tidying_up_leaves_another_ones_shell_to_its_owner(
    homes: Path,
) -> None:
    """Two servers in one process (as in the tests) each reap the strays that come to
    it: one ending its shell must not take the exit code of the other's."""
    config = Config(homes=homes)
    first, second = build("bwrap", config), build("bwrap", config)
    alice = home_of(homes, "alice", 231001)
    mine, theirs = await start(first, alice), await start(second, alice)
    try:
        await run(mine, b"exit 7\r", rb"exit")
        with anyio.fail_after(10):  # ended, and nobody has collected it yet
            while not any(p.pid == mine.pid and p.zombie for p in snapshot()):
                await anyio.sleep(0.02)
        await theirs.terminate()  # the other server tidies up after its own shell
        with anyio.fail_after(10):
            assert await mine.wait() == 7
        assert mine.process.returncode == 7
    finally:
        await mine.terminate()
        await theirs.terminate()
