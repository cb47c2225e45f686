"""A supervised worker process: one object made in a child, called over pipes.

The object's methods run in the child, outside this process's event loop and
interpreter lock, one call at a time in the order sent. A worker that dies
fails the calls it held (503) and raises, so its supervisor starts a new one;
callers that come meanwhile wait for it (within their own deadlines). The
child dies with this process, however it ends (see `child`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from itertools import count
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.buffered import BufferedByteReceiveStream

from actors import Service

from ..errors import ServiceUnavailable
from . import frames

if TYPE_CHECKING:
    from collections.abc import Callable

    from anyio.abc import ByteSendStream, Process, TaskStatus

logger = logging.getLogger("aiss.workers")


class WorkerFailed(ServiceUnavailable):
    """The worker process died, could not start, or was stopped, with the call in it."""


class _Call:
    __slots__ = ("done", "ok", "value")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.ok = False
        self.value: Any = None


class Worker(Service):
    def __init__(
        self,
        name: str,
        factory: Callable[[], object],
        *,
        start_timeout: float = 120.0,
        shutdown_timeout: float = 5.0,
    ) -> None:
        super().__init__(name, shutdown_timeout=shutdown_timeout)
        self.factory = factory
        self.start_timeout = start_timeout
        self.pid: int | None = None
        self.description = ""
        self._up = anyio.Event()
        self._stdin: ByteSendStream | None = None
        self._send_lock = anyio.Lock()
        self._calls: dict[int, _Call] = {}
        self._ids = count(1)
        self._retired = False  # stopped, not to be started again: callers fail at once

    async def started(self) -> ByteSendStream:
        """The running worker's input, once there is one (at once, usually)."""
        while (stdin := self._stdin) is None:
            if self._retired:
                raise WorkerFailed(f"the {self.name} worker is not running")
            await self._up.wait()
        return stdin

    async def call(self, method: str, *args: Any) -> Any:
        """`method(*args)` on the object in the child; waits for a worker that is starting."""
        stdin = await self.started()
        call_id = next(self._ids)
        call = self._calls[call_id] = _Call()
        try:
            async with self._send_lock:
                await stdin.send(frames.encode((call_id, method, args)))
            await call.done.wait()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise WorkerFailed(f"the {self.name} worker died") from None
        finally:
            self._calls.pop(call_id, None)  # a reply after a cancelled call is dropped
        value = call.value
        if isinstance(value, bytes):
            try:
                value = frames.decode(value)
            except Exception as exc:
                raise WorkerFailed(
                    f"the {self.name} worker's answer cannot be read: {exc}"
                ) from None
        if not call.ok:
            raise value
        return value

    def kill(self) -> None:
        """End a worker that hangs; its supervisor starts another."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        command = [sys.executable, "-m", "aiss.workers.child", str(os.getpid()), self.name]
        process = await anyio.open_process(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            start_new_session=True,  # a terminal's Ctrl-C is for the server to handle
        )
        assert process.stdin is not None and process.stdout is not None
        replies = BufferedByteReceiveStream(process.stdout)
        self.pid = process.pid
        self._retired = False
        if self._up.is_set():
            self._up = anyio.Event()
        try:
            await process.stdin.send(frames.encode(list(sys.path)))
            await process.stdin.send(frames.encode(self.factory))
            with anyio.fail_after(self.start_timeout):
                state, self.description = await self._read(replies)
            if state != "ready":
                raise WorkerFailed(f"the {self.name} worker did not start: {self.description}")
            self._stdin = process.stdin
            self._up.set()
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._stop_on, stop, process)
                task_status.started()
                await self._answer(replies)  # until the child's output ends
                tg.cancel_scope.cancel()
            if stop.is_set():
                return
            # The child closed its end without being told: a crash.
            raise WorkerFailed(f"the {self.name} worker exited ({await process.wait()})")
        except anyio.IncompleteRead:
            raise WorkerFailed(f"the {self.name} worker exited ({await process.wait()})") from None
        finally:
            self._stdin = None
            if stop.is_set():
                self._retired = True
                self._up.set()  # those waiting for a worker learn there is none
            elif self._up.is_set():  # those waiting on an unset one wait for the next
                self._up = anyio.Event()
            self._fail_calls("stopped" if stop.is_set() else "ended")
            with anyio.CancelScope(shield=True):
                await self._end(process)

    async def _stop_on(self, stop: anyio.Event, process: Process) -> None:
        """Told to stop: close the child's input, so it answers what it holds and exits,
        while its answers are still read; kill it after half the stop deadline (the
        supervisor's, for this service as a whole)."""
        await stop.wait()
        if process.stdin is not None:
            await process.stdin.aclose()
        await anyio.sleep(self.shutdown_timeout / 2)
        logger.warning("worker did not exit; killing it", extra={"worker": self.name})
        process.kill()

    async def _read(self, replies: BufferedByteReceiveStream) -> Any:
        header = await replies.receive_exactly(frames.HEADER.size)
        (size,) = frames.HEADER.unpack(header)
        if size >= frames.LARGEST:
            raise WorkerFailed(f"the {self.name} worker wrote a broken stream")
        return frames.decode(await replies.receive_exactly(size))

    async def _answer(self, replies: BufferedByteReceiveStream) -> None:
        while True:
            try:
                call_id, ok, value = await self._read(replies)
            except (anyio.IncompleteRead, anyio.EndOfStream):
                return
            call = self._calls.get(call_id)
            if call is not None:
                call.ok, call.value = ok, value
                call.done.set()

    def _fail_calls(self, how: str) -> None:
        calls, self._calls = self._calls, {}
        for call in calls.values():
            call.ok, call.value = False, WorkerFailed(f"the {self.name} worker {how}")
            call.done.set()

    async def _end(self, process: Process) -> None:
        """The child is done, or is made so; always reaped, its pipes closed."""
        if process.stdin is not None:
            await process.stdin.aclose()
        with anyio.move_on_after(self.shutdown_timeout / 2):
            await process.wait()
        if process.returncode is None:
            process.kill()
        await process.aclose()
        self.pid = None
