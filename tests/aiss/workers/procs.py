"""Finding and watching processes, for the tests of what a server leaves behind."""

from __future__ import annotations

from pathlib import Path

import anyio


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def workers_of(pid: int, name: str | None = None) -> list[int]:
    """The worker processes (`aiss.workers.child`) under `pid`, of `name` if given."""
    workers = []
    for child in descendants(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"aiss.workers.child" in command and (name is None or name.encode() in command):
            workers.append(child)
    return sorted(workers)


def gone(pid: int) -> bool:
    """No such process, or only its zombie left for whoever reaps it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def wait_gone(pid: int, within: float = 10) -> None:
    with anyio.fail_after(within):
        while not gone(pid):
            await anyio.sleep(0.05)


def niceness(pid: int) -> tuple[int, int | None]:
    """The process's nice value, and its autogroup's (None where the kernel has none)."""
    nice = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    try:
        group = int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])
    except OSError:
        group = None
    return nice, group
