"""A cgroup (v2) per shell, where this server may make them: the one sure way to
find, limit and kill every process a session started, whatever it forked.

The groups live under `aiss-terminals/` beside the server's own group. Limits
are written where the parent delegates the controller (memory.max, pids.max);
a hierarchy without them still gives membership and cgroup.kill.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

BASE = "aiss-terminals"


def _mount() -> Path | None:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            return Path(left.split()[4])
    return None


def _own() -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    return next((line[3:] for line in lines if line.startswith("0::")), None)


class Cgroups:
    """Makes a group per session under `base`; `find()` gives None where that cannot work."""

    def __init__(self, base: Path) -> None:
        self.base = base

    @classmethod
    def find(cls) -> Cgroups | None:
        mount, own = _mount(), _own()
        if mount is None or own is None:
            return None
        top = mount / own.lstrip("/") / BASE
        try:
            top.mkdir(exist_ok=True)
            _end_stale(top)
            base = top / f"{os.getpid()}-{secrets.token_hex(4)}"  # this server's own
            base.mkdir()
            if not (base / "cgroup.kill").exists():
                base.rmdir()
                return None
        except OSError:
            return None
        return cls(base)

    def create(self, *, memory_bytes: int, processes: int) -> Session:
        path = self.base / secrets.token_hex(8)
        path.mkdir()
        session = Session(path)
        limits = {"memory.max": memory_bytes, "pids.max": processes}
        for name, value in limits.items():
            if value and (path / name).exists():
                try:
                    (path / name).write_text(str(value))
                except OSError:
                    continue
                session.memory_limited |= name == "memory.max"
        return session


def _end_stale(top: Path) -> None:
    """Kill what is left in the groups of servers that died (a crash leaves shells)."""
    for group in top.iterdir():
        pid = group.name.split("-", 1)[0]
        if not group.is_dir() or not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        for session in [*group.iterdir(), group]:
            if session.is_dir():
                with contextlib.suppress(OSError):
                    (session / "cgroup.kill").write_text("1")
        for session in [*(p for p in group.iterdir() if p.is_dir()), group]:
            with contextlib.suppress(OSError):
                session.rmdir()  # empty once the kernel has finished the kill


class Session:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.memory_limited = False  # memory.max written: the group bounds memory
        # Built here, so the child joins with one open and one write between fork and exec.
        self._procs = str(path / "cgroup.procs")

    def join(self) -> None:
        """Called in the child between fork and exec: move it into the group."""
        fd = os.open(self._procs, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)

    def members(self) -> set[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return set()
        return {int(pid) for pid in text.split()}

    def freeze(self) -> None:
        with contextlib.suppress(OSError):
            (self.path / "cgroup.freeze").write_text("1")

    def frozen(self) -> bool:
        try:
            return "frozen 1" in (self.path / "cgroup.events").read_text()
        except OSError:
            return True  # nothing left to freeze

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            (self.path / "cgroup.kill").write_text("1")

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()
