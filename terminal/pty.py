"""A local shell on a pseudo-terminal: spawn, read, write, resize, and kill it all.

The shell leads a new session with the PTY as its controlling terminal
(setsid + TIOCSCTTY), so job control works and every process it starts
belongs to that session. Reading waits on the master fd (EIO is the end);
the exit is watched through a pidfd, so no thread waits per shell.
Terminating closes the master (SIGHUP to the session), waits a moment, then
SIGKILLs whatever of the session is left and reaps it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import resource
import signal
import struct
import subprocess
import termios
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

READ_SIZE = 65536
PATH = "/usr/local/bin:/usr/bin:/bin"
PASSED_ON = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")


@dataclass(frozen=True)
class Limits:
    """Per-shell resource limits (0: none)."""

    memory_bytes: int = 0
    open_files: int = 4096


def environment(
    base: Mapping[str, str],
    *,
    home: Path,
    user: str,
    shell: str,
    term: str,
    extra: Mapping[str, str],
) -> dict[str, str]:
    """A clean environment: never the server's own (its secrets live there)."""
    env = {k: base[k] for k in PASSED_ON if k in base}
    env.update(
        HOME=str(home),
        USER=user,
        LOGNAME=user,
        SHELL=shell,
        PATH=PATH,
        TERM=term,
        COLORTERM="truecolor",
    )
    env.update(extra)
    return env


def _winsize(cols: int, rows: int) -> bytes:
    return struct.pack("HHHH", rows, cols, 0, 0)


class LocalPty:
    def __init__(self, process: subprocess.Popen[bytes], master: int) -> None:
        self.process = process
        self.pid = process.pid
        self.master = master
        self._pidfd = os.pidfd_open(self.pid)
        self.exit_code: int | None = None

    @classmethod
    def spawn(
        cls,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        cols: int,
        rows: int,
        limits: Limits = Limits(),
    ) -> LocalPty:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, _winsize(cols, rows))

        def child() -> None:  # runs in the child between fork and exec
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if limits.open_files:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
            if limits.memory_bytes:
                resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))

        try:
            process = subprocess.Popen(
                list(argv),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                cwd=cwd,
                env=dict(env),
                start_new_session=True,
                preexec_fn=child,
                close_fds=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        return cls(process, master)

    async def read(self) -> bytes:
        """The next output, as much as is ready (up to READ_SIZE); b"" once closed.

        A PTY hands out about 4 KiB a read: gathering what is ready into one
        chunk makes one frame of it instead of sixteen.
        """
        while True:
            try:
                data = os.read(self.master, READ_SIZE)
            except BlockingIOError:
                await anyio.wait_readable(self.master)
                continue
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF):
                    return b""
                raise
            if not data:
                return b""
            chunks = [data]
            size = len(data)
            while size < READ_SIZE:
                try:
                    more = os.read(self.master, READ_SIZE - size)
                except OSError:  # nothing ready now, or the end: the next read says
                    break
                if not more:
                    break
                chunks.append(more)
                size += len(more)
            return b"".join(chunks)

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                await anyio.wait_writable(self.master)
                continue
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF):
                    return  # the shell is gone; its exit is reported elsewhere
                raise
            view = view[written:]

    def resize(self, cols: int, rows: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, _winsize(cols, rows))

    def echo_off(self) -> bool:
        """Whether the terminal does not echo (a password prompt, most likely)."""
        try:
            return not termios.tcgetattr(self.master)[3] & termios.ECHO
        except termios.error:
            return False

    async def wait(self) -> int:
        """The shell's exit code (128 + N when killed by signal N)."""
        if self.exit_code is None:
            await anyio.wait_readable(self._pidfd)
            self._reap()
        assert self.exit_code is not None
        return self.exit_code

    def _reap(self) -> None:
        if self.exit_code is not None:
            return
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            self.exit_code = self.process.returncode or 0
            return
        code = os.waitstatus_to_exitcode(status)
        self.exit_code = 128 - code if code < 0 else code
        self.process.returncode = code  # so Popen does not wait again

    async def terminate(self, grace: float = 0.5) -> None:
        """Close the terminal, then kill every process of its session; no zombie stays."""
        session = self.pid
        with contextlib.suppress(OSError):
            os.close(self.master)
        with anyio.move_on_after(grace):
            await self.wait()
        for pid in session_members(session):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with anyio.move_on_after(5):
            await self.wait()
        # Killed grandchildren come to this process (a subreaper) as they die.
        for _ in range(100):  # 2 s at most
            if not reap_orphans(session):
                break
            await anyio.sleep(0.02)
        with contextlib.suppress(OSError):
            os.close(self._pidfd)


def session_members(sid: int) -> list[int]:
    """Processes whose session id is `sid` (the shell and everything it started)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command (which may hold spaces) start past the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 3 and int(fields[3]) == sid:
            members.append(int(entry.name))
    return members


def reap_orphans(sid: int) -> bool:
    """Reap the session's processes re-parented to this server (a child subreaper);
    True while some of them are still to be reaped."""
    waiting = False
    for pid in session_members(sid):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue  # not ours to reap
        except OSError:
            continue
        waiting = waiting or done == 0
    return waiting


def become_subreaper() -> bool:
    """Orphans of shells come to this process, not init, so termination can reap them."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(36, 1, 0, 0, 0)) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False
