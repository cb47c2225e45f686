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

    async def started(self) -> None:
        """Return once a worker is running (at once, usually)."""
        while self._stdin is None:
            await self._up.wait()

    async def call(self, method: str, *args: Any) -> Any:
        """`method(*args)` on the object in the child; waits for a worker that is starting."""
        while (stdin := self._stdin) is None:
            await self._up.wait()
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
                tg.start_soon(self._stop_on, stop, tg.cancel_scope)
                task_status.started()
                await self._answer(replies)
                tg.cancel_scope.cancel()
            if stop.is_set():
                return
            # The child closed its end without being told: a crash.
            raise WorkerFailed(f"the {self.name} worker exited ({await process.wait()})")
        except anyio.IncompleteRead:
            raise WorkerFailed(f"the {self.name} worker exited ({await process.wait()})") from None
        finally:
            if self._up.is_set():  # callers waiting on an unset one keep waiting for the next
                self._up = anyio.Event()
            self._stdin = None
            self._fail_calls("stopped" if stop.is_set() else "ended")
            with anyio.CancelScope(shield=True):
                await self._end(process)

    async def _stop_on(self, stop: anyio.Event, scope: anyio.CancelScope) -> None:
        await stop.wait()
        scope.cancel()

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
        """Close its stdin (it exits), then kill it after half the stop deadline (the
        supervisor's, for this service as a whole); always reap."""
        if process.stdin is not None:
            await process.stdin.aclose()
        with anyio.move_on_after(self.shutdown_timeout / 2):
            await process.wait()
        if process.returncode is None:
            logger.warning("worker did not exit; killing it", extra={"worker": self.name})
            process.kill()
            await process.wait()
        self.pid = None
