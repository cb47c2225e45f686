"""One terminal session: its program, scrollback, viewers and flow control.

The session reads the program's output into the scrollback ring (and the
recorder and command log), and each viewer's sender sends what follows the
offset it has been sent, as long as that viewer's unacknowledged bytes stay
under the high watermark. While the driver is over it, the session stops
reading, so a flooding program blocks on its terminal instead of filling
memory; it reads again once the driver is back under the low watermark.
Observers never slow the program: one that lags past the scrollback skips
ahead. Detaching leaves the program running.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio

from actors import Restart, Service

from . import frames
from .scrollback import Ring, drop_answers

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from anyio.abc import TaskStatus

logger = logging.getLogger("aiss.terminal")
Role = Literal["driver", "observer"]
FRAME_BYTES = 64 * 1024
REPLAY_GRACE = 2.0  # seconds after replay during which emulator answers are dropped


class Program(Protocol):
    """A local PTY or an SSH channel."""

    async def read(self) -> bytes: ...
    async def write(self, data: bytes) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...
    def echo_off(self) -> bool: ...
    async def wait(self) -> int: ...
    async def terminate(self) -> None: ...


class Sink(Protocol):
    """Something fed the output (and typed input) as it happens."""

    def output(self, data: bytes) -> None: ...
    def input(self, data: bytes, echo_off: bool) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...


@dataclass(frozen=True)
class Policy:
    scrollback: int = 1 << 20
    high_watermark: int = 256 * 1024
    low_watermark: int = 64 * 1024
    idle_timeout: float = 3600.0
    max_lifetime: float = 86400.0


@dataclass(eq=False)
class Viewer:
    user_id: str
    role: Role
    send: Callable[[bytes], Awaitable[None]]
    sent: int = 0  # absolute offset of the next byte to send
    acked: int = 0  # bytes this viewer reported consumed, as an offset
    replay_end: int = 0
    replay_done_at: float | None = None
    wake: anyio.Event = field(default_factory=anyio.Event)
    closed: bool = False
    told_end: bool = False  # the exit (or error) status has been sent
    can_drive: bool = False  # set for drivers: a demoted one drives again when free

    def __post_init__(self) -> None:
        self.can_drive = self.can_drive or self.role == "driver"

    @property
    def unacked(self) -> int:
        return self.sent - self.acked

    def nudge(self) -> None:
        self.wake.set()


class TerminalSession(Service):
    """A supervised child of the terminals' dynamic supervisor, one per session."""

    def __init__(
        self,
        session_id: str,
        owner_id: str,
        opener: Callable[[], Awaitable[Program]],
        *,
        cols: int,
        rows: int,
        policy: Policy,
        sinks: list[Sink] | None = None,
        tasks: list[Callable[[], Coroutine[Any, Any, None]]] | None = None,
        on_state: Callable[[TerminalSession, str], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(f"session-{session_id}", restart=Restart.TEMPORARY, shutdown_timeout=8)
        self.id = session_id
        self.owner_id = owner_id
        self.opener = opener
        self.cols, self.rows = cols, rows
        self.policy = policy
        self.ring = Ring(policy.scrollback)
        self.sinks = sinks or []
        self.tasks = tasks or []  # run beside the program (the recorder's writer)
        self.on_state = on_state
        self.viewers: list[Viewer] = []
        self.program: Program | None = None
        self.state = "connecting"
        self.error = ""
        self.exit_code: int | None = None
        self.bytes_in = 0
        self.started = time.monotonic()
        self.last_activity = time.monotonic()
        self.ended = anyio.Event()
        self.opened = anyio.Event()  # the program has started, or failed to
        self._flowing = anyio.Event()
        self._flowing.set()

    # -- the program's life ------------------------------------------------------------

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        task_status.started()
        try:
            self.program = await self.opener()
        except Exception as exc:
            self.error = str(exc) or type(exc).__name__
            await self._set_state("failed")
            self._end()
            return
        finally:
            self.opened.set()
        await self._set_state("connected" if self.viewers else "detached")
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._pump)
                tg.start_soon(self._watch_limits, stop)
                for task in self.tasks:
                    tg.start_soon(task)
                await stop.wait()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.program.terminate()
                self.exit_code = await self.program.wait()
                await self._set_state("closed")
                self._end()

    async def _pump(self) -> None:
        assert self.program is not None
        while True:
            await self._flowing.wait()
            data = await self.program.read()
            if not data:
                break
            self.last_activity = time.monotonic()
            self.ring.write(data)
            for sink in self.sinks:
                sink.output(data)
            for viewer in self.viewers:
                viewer.nudge()
            self._regulate()
        self.request_stop()

    async def _watch_limits(self, stop: anyio.Event) -> None:
        while not stop.is_set():
            await anyio.sleep(min(5.0, self.policy.idle_timeout / 4, self.policy.max_lifetime / 4))
            now = time.monotonic()
            if now - self.last_activity > self.policy.idle_timeout and not self._driver():
                self.error = "idle timeout"
                self.request_stop()
            elif now - self.started > self.policy.max_lifetime:
                self.error = "maximum lifetime reached"
                self.request_stop()

    def _end(self) -> None:
        self.ended.set()
        for viewer in self.viewers:
            viewer.nudge()

    async def _set_state(self, state: str) -> None:
        self.state = state
        if self.on_state is not None:
            await self.on_state(self, state)

    # -- viewers -----------------------------------------------------------------------

    def _driver(self) -> Viewer | None:
        return next((v for v in self.viewers if v.role == "driver" and not v.closed), None)

    def _regulate(self) -> None:
        """Pause reading while the driver is over the high watermark; resume under the low."""
        driver = self._driver()
        lag = driver.unacked if driver else 0
        if lag >= self.policy.high_watermark and self._flowing.is_set():
            self._flowing = anyio.Event()
        elif lag <= self.policy.low_watermark and not self._flowing.is_set():
            self._flowing.set()

    async def attach(self, viewer: Viewer) -> None:
        """Serve `viewer` until it closes: the scrollback first, then live output."""
        if viewer.role == "driver":
            current = self._driver()
            if current is not None:  # a new driver takes over; the old one watches
                current.role = "observer"
                await current.send(frames.status(type="role", role="observer"))
                self._regulate()
        viewer.sent = viewer.acked = self.ring.start
        viewer.replay_end = self.ring.end
        self.viewers.append(viewer)
        if self.state == "detached":
            await self._set_state("connected")
        try:
            await viewer.send(
                frames.status(
                    type="attached",
                    session=self.id,
                    role=viewer.role,
                    cols=self.cols,
                    rows=self.rows,
                )
            )
            await viewer.send(
                frames.status(type="replay-begin", bytes=viewer.replay_end - viewer.sent)
            )
            await self._send_loop(viewer)
        finally:
            viewer.closed = True
            self.viewers.remove(viewer)
            if viewer.role == "driver":
                with anyio.CancelScope(shield=True):
                    await self._hand_over()
            self._regulate()
            if not self.viewers and self.state == "connected":
                with anyio.CancelScope(shield=True):
                    await self._set_state("detached")

    async def _hand_over(self) -> None:
        """The driver left: the latest viewer that drove before drives again."""
        for other in reversed(self.viewers):
            if other.can_drive and not other.closed:
                other.role = "driver"
                try:
                    await other.send(frames.status(type="role", role="driver"))
                except Exception:  # its own bridge notices a dead peer
                    other.closed = True
                    continue
                return

    async def _send_loop(self, viewer: Viewer) -> None:
        replaying = True
        while not viewer.closed:
            room = self.policy.high_watermark - viewer.unacked
            if room > 0 and viewer.sent < self.ring.end:
                start, chunk = self.ring.read(viewer.sent, min(room, FRAME_BYTES))
                if start > viewer.sent and viewer.role == "observer" and not replaying:
                    await viewer.send(frames.status(type="skipped", bytes=start - viewer.sent))
                viewer.acked += start - viewer.sent  # bytes that fell off are not owed
                viewer.sent = start + len(chunk)
                await viewer.send(frames.output(chunk))
                if viewer.role == "driver":
                    self._regulate()
                continue
            if replaying and viewer.sent >= viewer.replay_end:
                replaying = False
                viewer.replay_done_at = time.monotonic()
                await viewer.send(frames.status(type="replay-end"))
                continue
            if self.ended.is_set() and viewer.sent >= self.ring.end:
                # After the last output, so a viewer sees everything before the end.
                if self.state == "failed":
                    await viewer.send(frames.status(type="error", message=self.error))
                else:
                    await viewer.send(frames.status(type="exit", code=self.exit_code))
                viewer.told_end = True
                return
            viewer.wake = anyio.Event()
            with anyio.move_on_after(1.0):
                await viewer.wake.wait()

    def ack(self, viewer: Viewer, count: int) -> None:
        """`count` more bytes consumed by `viewer` (the protocol sends increments)."""
        viewer.acked = min(viewer.sent, viewer.acked + count)
        viewer.nudge()
        if viewer.role == "driver":
            self._regulate()

    async def type(self, viewer: Viewer, data: bytes) -> bool:
        """Input from `viewer`; False (and nothing typed) for an observer."""
        if viewer.role != "driver":
            return False
        await self.opened.wait()  # typed while the program starts: it gets it once there
        if self.program is None or self.ended.is_set():
            return False
        if self._in_replay(viewer):
            data = drop_answers(data)
            if not data:
                return True
        self.last_activity = time.monotonic()
        self.bytes_in += len(data)
        echo_off = self.program.echo_off()
        for sink in self.sinks:
            sink.input(data, echo_off)
        await self.program.write(data)
        return True

    def _in_replay(self, viewer: Viewer) -> bool:
        """Until the viewer has consumed the replay, and shortly after, answers are its own."""
        if viewer.acked < viewer.replay_end or viewer.replay_done_at is None:
            return True
        return time.monotonic() - viewer.replay_done_at < REPLAY_GRACE

    def resize(self, viewer: Viewer | None, cols: int, rows: int) -> bool:
        if viewer is not None and viewer.role != "driver":
            return False
        self.cols, self.rows = cols, rows
        if self.program is not None:
            self.program.resize(cols, rows)
        for sink in self.sinks:
            sink.resize(cols, rows)
        return True

    @property
    def bytes_out(self) -> int:
        return self.ring.end
