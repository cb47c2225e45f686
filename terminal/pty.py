"""A local shell on a pseudo-terminal: spawn, read, write, resize, and kill it all.

What runs, as whom and inside what, is the sandbox's `Launch`; the shell ends
up leading a session with the PTY as its controlling terminal, so job control
works. Reading waits on the master fd (EIO is the end); the exit is watched
through a pidfd, so no thread waits per shell. Terminating closes the master
(SIGHUP to the session), waits a moment, then has the sandbox kill whatever
the shell started and reaps it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import struct
import subprocess
import termios
import threading
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .sandbox import Launch

READ_SIZE = 65536
PATH = "/usr/local/bin:/usr/bin:/bin"
PASSED_ON = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")


def environment(
    base: Mapping[str, str],
    *,
    home: str,
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
    def __init__(self, process: subprocess.Popen[bytes], master: int, launch: Launch) -> None:
        self.process = process
        self.launch = launch
        self.pid = process.pid
        self.master = master
        self._pidfd = os.pidfd_open(self.pid)
        self._closed = False
        self._drained = False  # the last read emptied the terminal: wait before the next
        self.exit_code: int | None = None

    @classmethod
    def spawn(cls, launch: Launch, *, env: Mapping[str, str], cols: int, rows: int) -> LocalPty:
        """Start what `launch` says on a new PTY, as the leader of a new session."""
        try:
            master, slave = os.openpty()
        except OSError:
            launch.release()
            raise
        fcntl.ioctl(slave, termios.TIOCSWINSZ, _winsize(cols, rows))
        try:
            process = subprocess.Popen(
                launch.argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=dict(env),
                start_new_session=True,
                preexec_fn=launch.preexec,
                pass_fds=launch.pass_fds,
                close_fds=True,
            )
        except BaseException:
            os.close(master)
            launch.release()
            raise
        finally:
            os.close(slave)
        launch.started(process.pid)
        os.set_blocking(master, False)
        return cls(process, master, launch)

    async def read(self) -> bytes:
        """The next output, as much as is ready (up to READ_SIZE); b"" once closed.

        A PTY hands out about 4 KiB a read: gathering what is ready into one
        chunk makes one frame of it instead of sixteen.
        """
        if not self._drained:  # a flood never waits: let the others run between reads
            await anyio.lowlevel.checkpoint()
        while not self._closed:  # a closed fd's number may be another's by now
            if self._drained:  # nothing was left: wait, rather than try a read first
                self._drained = False
                try:
                    await anyio.wait_readable(self.master)
                except anyio.ClosedResourceError:  # terminate() closed it meanwhile
                    return b""
                continue
            try:
                data = os.read(self.master, READ_SIZE)
            except BlockingIOError:
                self._drained = True
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
                except BlockingIOError:
                    self._drained = True
                    break
                except OSError:  # the end: the next read says
                    break
                if not more:
                    break
                chunks.append(more)
                size += len(more)
            return b"".join(chunks)
        return b""

    def write_nowait(self, data: bytes) -> int:
        """As much of `data` as the terminal takes now (all of it once the shell is gone)."""
        if self._closed:
            return len(data)
        try:
            return os.write(self.master, data)
        except BlockingIOError:
            return 0
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EBADF):
                return len(data)
            raise

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._closed:
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                try:
                    await anyio.wait_writable(self.master)
                except anyio.ClosedResourceError:  # terminate() closed it meanwhile
                    return
                continue
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF):
                    return  # the shell is gone; its exit is reported elsewhere
                raise
            view = view[written:]

    def resize(self, cols: int, rows: int) -> None:
        if self._closed:
            return
        with contextlib.suppress(OSError):
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, _winsize(cols, rows))

    def output_pending(self) -> bool:
        """Whether output waits to be read (the terminal's own buffer is not empty)."""
        if self._closed:
            return False
        try:
            pending: int = struct.unpack(
                "i", fcntl.ioctl(self.master, termios.FIONREAD, b"\0\0\0\0")
            )[0]
        except OSError:
            return False
        return pending > 0

    def echoes(self) -> bool:
        """This terminal echoes input here, while echo is on (and drops echoes with no
        room); the session asks `echo_off` for that."""
        return True

    def echo_off(self) -> bool:
        """Whether the terminal does not echo (a password prompt, most likely)."""
        if self._closed:
            return False
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
        except ChildProcessError:  # reaped elsewhere: the code is lost, say so once
            self.exit_code = self.process.returncode or 0
            self.process.returncode = self.exit_code
            return
        code = os.waitstatus_to_exitcode(status)
        self.exit_code = 128 - code if code < 0 else code
        self.process.returncode = code  # so Popen does not wait again

    def close(self) -> None:
        """Let go of the terminal and the exit watch, for a process already reaped."""
        if not self._closed:
            self._closed = True
            os.close(self.master)
        with contextlib.suppress(OSError):
            os.close(self._pidfd)

    async def terminate(self, grace: float = 0.5) -> None:
        """Close the terminal, then kill everything the shell started; no zombie stays.

        A shell still dying when this gives up (a loaded machine), or when it is
        cancelled, is killed and reaped by a thread of its own.
        """
        if not self._closed:
            self._closed = True
            anyio.notify_closing(self.master)  # no task waits on a closed fd number
            os.close(self.master)
        try:
            with anyio.move_on_after(grace):
                await self.wait()
            # Even after the shell's own exit: what it left running goes too.
            await self.launch.end()
            if self.exit_code is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                with anyio.move_on_after(5):
                    await self.wait()
        finally:
            if self.exit_code is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self.exit_code = 128 + signal.SIGKILL
                threading.Thread(target=self.process.wait, name="reap", daemon=True).start()
            self.launch.release()
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
