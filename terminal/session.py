"""One terminal session: its program, scrollback, viewers and flow control.

The session reads the program's output into the scrollback ring (and the
recorder and command log), and each viewer's sender sends what follows the
offset it has been sent, as long as that viewer's unacknowledged bytes stay
under the high watermark. The driver never loses output: while the output
it has not acknowledged (read into the ring, sent or not) is over the high
watermark, the session stops reading, so a flooding program blocks on its
terminal instead of filling memory, and reads again once the driver is back
under the low watermark. Observers never slow the program: one that lags
past the scrollback skips ahead, and is told. Detaching leaves the program
running.

Everything a viewer is sent goes through its own sender, so no task ever
waits on another viewer's socket (a dead or slow one). Input is queued and
written by a task of its own: a paste the program is slow to take never
holds up the acknowledgements that let its output, and so its reading, go on.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio

from actors import Restart, Service

from . import frames
from .scrollback import Answers, Ring

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from anyio.abc import TaskStatus

logger = logging.getLogger("aiss.terminal")
Role = Literal["driver", "observer"]
FRAME_BYTES = 64 * 1024
REPLAY_GRACE = 2.0  # seconds after replay during which emulator answers are dropped
INPUT_BYTES = 1024  # written at a time: well within a terminal's 4 KiB echo buffer
ECHO_WAIT = 0.05  # seconds input waits for the echo of the piece before it
END_GRACE = 5.0  # seconds after the end a viewer has to take the last output
MAX_NOTICES = 64  # status frames waiting for one viewer; more means it does not read


class Program(Protocol):
    """A local PTY or an SSH channel."""

    async def read(self) -> bytes: ...
    async def write(self, data: bytes) -> None: ...
    def write_nowait(self, data: bytes) -> int:
        """Write what the program takes now, without waiting; how much (0 if none)."""

    def resize(self, cols: int, rows: int) -> None: ...
    def echo_off(self) -> bool: ...
    def output_pending(self) -> bool: ...
    def echoes(self) -> bool: ...
    async def wait(self) -> int: ...
    async def terminate(self) -> None: ...


class Sink(Protocol):
    """Something fed the output (and typed input) as it happens."""

    def output(self, data: bytes) -> None: ...
    def input(self, data: bytes, echo_off: bool) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...
    async def room(self) -> None:
        """Until it can take more output (a recording that storage is behind on)."""


@dataclass(frozen=True)
class Policy:
    scrollback: int = 1 << 20
    high_watermark: int = 256 * 1024
    low_watermark: int = 64 * 1024
    idle_timeout: float = 3600.0
    max_lifetime: float = 86400.0
    connect_timeout: float = 30.0
    input_backlog: int = 4 << 20  # typed bytes the program has not taken yet

    def __post_init__(self) -> None:
        # A read may add a frame's worth past the high watermark: the ring holds it all.
        if not 0 < self.low_watermark < self.high_watermark <= self.scrollback - FRAME_BYTES:
            raise ValueError("watermarks: 0 < low < high <= scrollback - 64 KiB")


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
    notices: deque[bytes] = field(default_factory=deque)  # status frames to send first
    answers: Answers = field(default_factory=Answers)  # the emulator's, owed for the replay

    def __post_init__(self) -> None:
        self.can_drive = self.can_drive or self.role == "driver"

    @property
    def unacked(self) -> int:
        return self.sent - self.acked

    def nudge(self) -> None:
        self.wake.set()

    def notify(self, frame: bytes) -> None:
        """Have this viewer's own sender send `frame`, before more output."""
        if len(self.notices) < MAX_NOTICES:
            self.notices.append(frame)
        self.nudge()


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
        ring: Ring | None = None,
    ) -> None:
        super().__init__(f"session-{session_id}", restart=Restart.TEMPORARY, shutdown_timeout=8)
        self.id = session_id
        self.owner_id = owner_id
        self.opener = opener
        self.cols, self.rows = cols, rows
        self.policy = policy
        self.ring = ring or Ring(policy.scrollback)  # shared with the recorder
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
        self._input = bytearray()  # typed, not yet written to the program
        self._typed = anyio.Event()
        self._taken: anyio.Event | None = None  # set as the program takes input, when waited for
        self._writing = False  # the writer holds a piece of input the program has not taken
        self._output: anyio.Event | None = None  # set at the next read, when waited for
        self._unechoed = False  # input was written and no output read since
        self._written_at = 0.0
        self._ended_at = 0.0

    # -- the program's life ------------------------------------------------------------

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        task_status.started()
        try:
            self.program = await self._connect(stop)
        finally:
            self.opened.set()
            if self.program is None:  # failed, timed out, ended or cancelled first
                with anyio.CancelScope(shield=True):
                    self.error = self.error or "ended while connecting"
                    await self._set_state("failed")
                    self._end()
        if self.program is None:
            return
        try:
            await self._set_state("connected" if self.viewers else "detached")
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._pump)
                tg.start_soon(self._write_input)
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

    async def _connect(self, stop: anyio.Event) -> Program | None:
        """The program, once open; None if it failed, took too long or the session ended."""
        program: Program | None = None
        async with anyio.create_task_group() as tg:

            async def stopped() -> None:
                await stop.wait()
                self.error = self.error or "ended while connecting"
                tg.cancel_scope.cancel()

            tg.start_soon(stopped)
            try:
                with anyio.fail_after(self.policy.connect_timeout):
                    program = await self.opener()
            except TimeoutError:
                self.error = f"not connected within {self.policy.connect_timeout:g} seconds"
            except Exception as exc:
                self.error = str(exc) or type(exc).__name__
            tg.cancel_scope.cancel()
        return program

    async def _pump(self) -> None:
        program, ring, sinks = self.program, self.ring, self.sinks
        assert program is not None
        while True:
            if not self._flowing.is_set():
                await self._flowing.wait()
            for sink in sinks:
                await sink.room()
            data = await program.read()
            if not data:
                break
            self.last_activity = time.monotonic()
            ring.write(data)
            for sink in sinks:
                sink.output(data)
            self._unechoed = False
            if self._output is not None:
                self._output.set()
                self._output = None
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
        self._ended_at = time.monotonic()
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
        """Pause reading while the driver is over the high watermark; resume under the low.

        The lag is everything read since the driver's acknowledged offset, sent
        or not (a slow socket holds up sending), so the ring never runs past it.
        Replayed output is the scrollback's, not owed: it counts from the replay's end.
        """
        driver = self._driver()
        lag = self.ring.end - max(driver.acked, driver.replay_end) if driver else 0
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
                current.notify(frames.status(type="role", role="observer"))
        viewer.sent = viewer.acked = self.ring.start
        viewer.replay_end = self.ring.end
        self.viewers.append(viewer)
        self._regulate()
        viewer.notify(
            frames.status(
                type="attached",
                session=self.id,
                role=viewer.role,
                cols=self.cols,
                rows=self.rows,
                count=True,  # COUNT frames are understood
            )
        )
        viewer.notify(frames.status(type="replay-begin", bytes=viewer.replay_end - viewer.sent))
        try:
            if self.state == "detached":
                await self._set_state("connected")
            await self._send_loop(viewer)
        finally:
            viewer.closed = True
            self.viewers.remove(viewer)
            if viewer.role == "driver":
                self._hand_over()
            self._regulate()
            if not self.viewers and self.state == "connected":
                with anyio.CancelScope(shield=True):
                    await self._set_state("detached")

    def _hand_over(self) -> None:
        """The driver left: the latest viewer that drove before drives again."""
        for other in reversed(self.viewers):
            if other.can_drive and not other.closed:
                other.role = "driver"
                other.notify(frames.status(type="role", role="driver"))
                return

    async def _send_loop(self, viewer: Viewer) -> None:
        replaying = True
        while not viewer.closed:
            if viewer.notices:
                await viewer.send(viewer.notices.popleft())
                continue
            room = self.policy.high_watermark - viewer.unacked
            if room > 0 and viewer.sent < self.ring.end:
                start, chunk = self.ring.read(viewer.sent, min(room, FRAME_BYTES))
                if start > viewer.sent and not replaying:
                    await viewer.send(frames.status(type="skipped", bytes=start - viewer.sent))
                viewer.acked += start - viewer.sent  # bytes that fell off are not owed
                viewer.sent = start + len(chunk)
                if start < viewer.replay_end:
                    viewer.answers.expect(chunk[: viewer.replay_end - start])
                await viewer.send(frames.output(chunk))
                if viewer.role == "driver":
                    self._regulate()
                continue
            if replaying and viewer.sent >= viewer.replay_end:
                replaying = False
                viewer.replay_done_at = time.monotonic()
                await viewer.send(frames.status(type="replay-end"))
                continue
            ended = self.ended.is_set()
            if ended and (
                viewer.sent >= self.ring.end or time.monotonic() - self._ended_at > END_GRACE
            ):
                # After the last output, so a viewer sees everything before the end;
                # one that stopped acknowledging is told the end all the same.
                if self.state == "failed":
                    await viewer.send(frames.status(type="error", message=self.error))
                else:
                    await viewer.send(frames.status(type="exit", code=self.exit_code))
                viewer.told_end = True
                return
            # Nothing to do: wait for a nudge (a read, an ack, a notice, the end).
            # Everything above ran without yielding, so none was missed.
            if viewer.wake.is_set():
                viewer.wake = anyio.Event()
            if ended:  # the grace for the last output runs out without a nudge
                with anyio.move_on_after(1.0):
                    await viewer.wake.wait()
            else:
                await viewer.wake.wait()

    def ack(self, viewer: Viewer, count: int) -> None:
        """`count` more bytes consumed by `viewer` (the protocol sends increments)."""
        viewer.acked = min(viewer.sent, viewer.acked + count)
        viewer.nudge()
        if viewer.role == "driver":
            self._regulate()

    def type(self, viewer: Viewer, data: bytes) -> str | None:
        """Queue input from `viewer` for the program; why not, when it is not taken.

        Typed while the program starts, it is written once the program is there.
        """
        if viewer.role != "driver":
            return "read-only: you observe"
        if self.ended.is_set():
            return "the session has ended"
        if self._in_replay(viewer):
            data = viewer.answers.drop(data)
        if not data:
            return None
        if len(self._input) + len(data) > self.policy.input_backlog:
            return (
                f"input dropped: the program has not yet taken the {len(self._input)} bytes"
                " typed before"
            )
        if not self._input and self._may_write_now():
            data = data[self._write_now(data[:INPUT_BYTES]) :]
            if not data:
                return None
        self._input += data
        self._typed.set()
        return None

    def _may_write_now(self) -> bool:
        """Whether typed input can go to the program at once: a keystroke takes no
        hop through the writer while nothing is queued, output flows, no output
        waits to be read and the last piece's echo has come (or was not waited for)."""
        program = self.program
        if program is None or self._writing or not self._flowing.is_set():
            return False
        if self._unechoed and time.monotonic() - self._written_at < ECHO_WAIT:
            return False
        return not program.output_pending()

    def _write_now(self, data: bytes) -> int:
        assert self.program is not None
        taken = self.program.write_nowait(data)
        if taken:
            self._took(data[:taken])
        return taken

    def _took(self, data: bytes) -> None:
        """`data` went to the program: feed the sinks, and expect its echo."""
        program = self.program
        assert program is not None
        self.last_activity = self._written_at = time.monotonic()
        self.bytes_in += len(data)
        echo_off = program.echo_off()
        for sink in self.sinks:
            sink.input(data, echo_off)
        self._unechoed = not echo_off and program.echoes()
        if self._taken is not None:
            self._taken.set()
            self._taken = None

    async def _write_input(self) -> None:
        """Write typed input while output flows, a little at a time.

        The terminal echoes input as it takes it, and discards echoes it has no
        room to send (it holds some 20 KiB of output): input is written while
        output flows, when none waits to be read, and a piece's echo is read
        before the next piece goes, so a paste's echo arrives whole.
        """
        program = self.program
        assert program is not None
        while True:
            if not self._input:
                self._typed = anyio.Event()
                await self._typed.wait()
                continue
            if not self._flowing.is_set():
                await self._flowing.wait()
                continue
            if self._unechoed:  # the last piece's echo first
                self._output = self._output or anyio.Event()
                with anyio.move_on_after(ECHO_WAIT - (time.monotonic() - self._written_at)):
                    await self._output.wait()  # a program may print nothing
                self._unechoed = False
                continue
            if program.output_pending():
                self._output = self._output or anyio.Event()
                await self._output.wait()
                continue
            data = bytes(self._input[:INPUT_BYTES])
            del self._input[:INPUT_BYTES]
            self._writing = True
            try:
                taken = self._write_now(data)
                if taken < len(data):  # the terminal's input buffer is full: wait for room
                    await program.write(data[taken:])
                    self._took(data[taken:])
            finally:
                self._writing = False

    async def input_room(self, size: int) -> None:
        """Until `size` more bytes of input fit (or the session ends)."""
        size = min(size, self.policy.input_backlog)
        while len(self._input) + size > self.policy.input_backlog and not self.ended.is_set():
            self._taken = self._taken or anyio.Event()
            with anyio.move_on_after(1.0):  # the end sets no event of ours
                await self._taken.wait()

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
