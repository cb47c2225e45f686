"""Recording a session as asciicast v2, streamed to storage in parts while it runs.

The header is the first line; then `[seconds, "o", text]` for output,
`[seconds, "r", "COLSxROWS"]` for resizes and, when asked for, `[seconds,
"i", text]` for input, except what is typed while the terminal does not
echo (passwords). Parts are flushed every `flush_bytes` or `flush_seconds`;
reading the recording concatenates them in order.

What is not yet stored is held up to `max_backlog` bytes. While a part is
being stored, a session whose recording is that far behind stops reading its
program until the part is stored (`room`), so memory stays bounded. While the store fails, or a part has waited `stuck_after`
seconds, the program goes on and output past the backlog is left out: the
recording carries a marker, `[seconds, "m", "N bytes of output not
recorded"]`, and `lost` counts those bytes.
"""

from __future__ import annotations

import codecs
import json
import logging
import time
from typing import TYPE_CHECKING

import anyio

logger = logging.getLogger("aiss.terminal")
RETRY_FIRST, RETRY_LAST = 1.0, 30.0  # seconds between tries while storage fails

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class Recorder:
    """A session sink: collects events, and `run` writes the parts with `store(index, data)`."""

    def __init__(
        self,
        store: Callable[[int, bytes], Awaitable[None]],
        *,
        cols: int,
        rows: int,
        env: dict[str, str],
        title: str = "",
        record_input: bool = False,
        flush_bytes: int = 32 * 1024,
        flush_seconds: float = 5.0,
        max_backlog: int = 64 * 1024,
        stuck_after: float = 2.0,
        limiter: anyio.CapacityLimiter | None = None,
    ) -> None:
        self.store = store
        self.record_input = record_input
        self.flush_bytes = flush_bytes
        self.flush_seconds = flush_seconds
        self.max_backlog = max(max_backlog, flush_bytes)
        self.stuck_after = stuck_after
        # Parts stored at once, shared by the sessions: each store holds copies of its part.
        self._limiter = limiter or anyio.CapacityLimiter(1)
        self.started = time.monotonic()
        header = {
            "version": 2,
            "width": cols,
            "height": rows,
            "timestamp": int(time.time()),
            "env": env,
        }
        if title:
            header["title"] = title
        self._pending = bytearray(json.dumps(header).encode() + b"\n")
        self._output = codecs.getincrementaldecoder("utf-8")("replace")
        self._input = codecs.getincrementaldecoder("utf-8")("replace")
        self._ready = anyio.Event()
        self._stored = anyio.Event()  # set after each try to store a part
        self._lock = anyio.Lock()
        self._storing = 0  # bytes of the part being stored now
        self._pending_output = 0  # output bytes in what is pending and being stored
        self._failing = False  # the last try failed, or one waited too long
        self._store_started: float | None = None  # when the part being stored went
        self._gap = 0  # output bytes left out since the last event kept
        self.parts = 0
        self.bytes = 0
        self.lost = 0

    @property
    def backlog(self) -> int:
        """Bytes held for storage: pending, and the part being stored."""
        return len(self._pending) + self._storing

    def _line(self, kind: str, text: str) -> None:
        at = round(time.monotonic() - self.started, 6)
        self._pending += json.dumps([at, kind, text]).encode() + b"\n"

    def _event(self, kind: str, text: str, size: int = 0) -> None:
        """Add an event, or leave it out (counting `size` output bytes) when the
        backlog is full."""
        if not text:
            return
        if self.backlog >= self.max_backlog:
            self._gap += size
            self.lost += size
            self._ready.set()
            return
        if self._gap:
            self._line("m", f"{self._gap} bytes of output not recorded")
            self._gap = 0
        self._line(kind, text)
        self._pending_output += size
        if len(self._pending) >= self.flush_bytes:
            self._ready.set()

    async def room(self) -> None:
        """Until the backlog has room for more output, while the store keeps up.

        A part that waits longer than `stuck_after` counts as a failing store:
        from then until a part is stored, output past the backlog is left out.
        """
        if self.backlog < self.max_backlog or self._failing:
            return
        self._ready.set()
        while self.backlog >= self.max_backlog and not self._failing:
            started = self._store_started
            if started is None:  # no part on its way: nothing to wait for
                return
            if anyio.current_time() - started >= self.stuck_after:
                self._failing = True
                return
            waited = anyio.current_time() - started
            with anyio.move_on_after(self.stuck_after - waited):
                await self._stored.wait()

    # -- the sink ----------------------------------------------------------------------

    def output(self, data: bytes) -> None:
        self._event("o", self._output.decode(data), len(data))

    def input(self, data: bytes, echo_off: bool) -> None:
        if self.record_input and not echo_off:
            self._event("i", self._input.decode(data))

    def resize(self, cols: int, rows: int) -> None:
        self._event("r", f"{cols}x{rows}")

    # -- writing -----------------------------------------------------------------------

    async def flush(self) -> bool:
        """Write what is pending as the next part; on failure keep it for the next try."""
        async with self._lock, self._limiter:  # parts are numbered: one store at a time
            if not self._pending:
                return True
            data, self._pending = bytes(self._pending), bytearray()
            output, self._pending_output = self._pending_output, 0
            self._storing = len(data)
            self._store_started = anyio.current_time()
            try:
                await self.store(self.parts, data)
            except Exception:
                logger.warning("recording part not stored; will retry", exc_info=True)
                self._pending[:0] = data
                self._pending_output += output
                self._failing = True
                return False
            finally:
                self._storing = 0
                self._store_started = None
                self._stored.set()
                self._stored = anyio.Event()
            self._failing = False
            self.parts += 1
            self.bytes += len(data)
            return True

    async def run(self) -> None:
        """Flush parts as they fill or age, until cancelled; then the rest."""
        retry = RETRY_FIRST
        try:
            while True:
                if len(self._pending) < self.flush_bytes:  # else another part is ready
                    with anyio.move_on_after(self.flush_seconds):
                        self._ready = anyio.Event()
                        await self._ready.wait()
                if await self.flush():
                    retry = RETRY_FIRST
                else:  # the store is down: try again later, not at every output
                    await anyio.sleep(retry)
                    retry = min(retry * 2, RETRY_LAST)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                self._event("o", self._output.decode(b"", final=True))
                if self._gap:
                    self._line("m", f"{self._gap} bytes of output not recorded")
                    self._gap = 0
                if not await self.flush():  # the store is still down: it is lost now
                    self.lost += self._pending_output
