"""The host's processes as /proc shows them, and killing a set of them for good.

Killing is done in rounds: whatever matches is sent SIGKILL, this server's
own children among it are reaped, and the match is taken again, so a process
forked between two rounds (a fork bomb racing the kill) is caught by the next.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

KILL_ROUNDS = 100  # 2 s at most
ROUND_PAUSE = 0.02

# An exit status belongs to the process, not to one sandbox: whatever reaps strays
# here (each sandbox of each server in this process; the tests run several) must
# spare every child whose owner waits for it, or that owner loses its exit code.
_claimed: set[int] = set()


def claim(pid: int) -> None:
    """`pid`, a child of this process, is reaped by its owner and by nothing else."""
    _claimed.add(pid)


def unclaim(pid: int) -> None:
    _claimed.discard(pid)


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    sid: int
    uid: int
    zombie: bool
    name: str = ""


def _read(entry: Path) -> Proc | None:
    try:
        stat = (entry / "stat").read_text()
        uid = entry.stat().st_uid  # /proc/PID is owned by the process's effective uid
    except OSError:
        return None
    # Fields after the command (which may hold spaces) start past the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 4:
        return None
    name = stat[stat.find("(") + 1 : stat.rfind(")")]
    return Proc(int(entry.name), int(fields[1]), int(fields[3]), uid, fields[0] in "ZX", name)


def snapshot() -> list[Proc]:
    """Every process this server can see."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (proc := _read(entry)) is not None:
            found.append(proc)
    return found


def session_members(sid: int, procs: Iterable[Proc] | None = None) -> list[int]:
    """Processes whose session id is `sid` (a shell and what it started in its session)."""
    return [p.pid for p in (snapshot() if procs is None else procs) if p.sid == sid]


def descendants(root: int, procs: Iterable[Proc]) -> set[int]:
    """Every process below `root` in the parent tree (not `root` itself)."""
    children: dict[int, list[int]] = {}
    for p in procs:
        children.setdefault(p.ppid, []).append(p.pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def reap(pids: Iterable[int]) -> None:
    """Collect those of `pids` that are this server's children and have ended, but
    for the claimed ones. The server is a child subreaper, so a killed shell's
    orphans come to it."""
    for pid in pids:
        if pid in _claimed:
            continue
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


async def kill_all(select: Callable[[list[Proc]], set[int]]) -> bool:
    """SIGKILL what `select` picks from the process list until nothing is left alive;
    reap what comes to this server, but for the claimed children. False if something
    was still alive after the last round."""
    seen: set[int] = set()  # a dead process leaves its cgroup before it is reaped
    ours = os.getpid()
    for _ in range(KILL_ROUNDS):
        procs = snapshot()
        picked = select(procs)
        seen |= picked
        alive = {p.pid for p in procs if p.pid in picked and not p.zombie}
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        reap(seen)
        if not alive and not any(
            p.zombie and p.ppid == ours and p.pid not in _claimed for p in procs if p.pid in seen
        ):
            return True
        await anyio.sleep(ROUND_PAUSE)
    return False


def reap_strays(uids: range | None) -> int:
    """Reap ended orphans of shells that came to this server: a sandbox's own processes
    (bwrap), or anything of the shells' uids. Nothing else of the server's is touched,
    so no other owner of a child loses its exit status; never a claimed child (a
    shell whose owner collects its exit code). How many were reaped."""
    ours, count = os.getpid(), 0
    for p in snapshot():
        mine = p.name == "bwrap" or (uids and p.uid in uids)
        if p.zombie and p.ppid == ours and mine and p.pid not in _claimed:
            with contextlib.suppress(ChildProcessError, OSError):
                count += os.waitpid(p.pid, os.WNOHANG)[0] == p.pid
    return count


def become_subreaper() -> bool:
    """Orphans of shells come to this process, not init, so termination can reap them."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(36, 1, 0, 0, 0)) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False
