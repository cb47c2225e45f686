"""Recording a session as asciicast v2, streamed to storage in parts while it runs.

The header is the first line; then `[seconds, "o", text]` for output,
`[seconds, "r", "COLSxROWS"]` for resizes and, when asked for, `[seconds,
"i", text]` for input, except what is typed while the terminal does not
echo (passwords). Reading the recording concatenates the parts in order.

Output is not copied as it is read: the recorder reads it back from the
session's scrollback ring when it writes a part, so recording costs no memory
beside the ring but the part on its way, and nothing per read but a time mark
(one per `GRAIN`: what a program prints within 10 ms is one event). A part
(about `flush_bytes` as stored) is written once that much output waits, or
`flush_seconds` after the last one; while more waits, and the store is fast
enough, a part takes more (up to half the ring), as a store's cost is mostly per
part. A session whose unstored output would be overwritten by its next read
waits for the part on its way (`room`), so a recording stays whole while storage
keeps up. While the store fails, or a part has waited `stuck_after` seconds, the
program goes on and output that fell off the ring unstored is left out: the
recording carries a marker, `[seconds, "m", "N bytes of output not recorded"]`,
and `lost` counts those bytes.
"""

from __future__ import annotations

import codecs
import json
import logging
import time
from collections import deque
from typing import TYPE_CHECKING

import anyio
import orjson

from .scrollback import Ring

logger = logging.getLogger("aiss.terminal")
RETRY_FIRST, RETRY_LAST = 1.0, 30.0  # seconds between tries while storage fails
GRAIN = 0.01  # seconds: output read within one grain is one event
FINAL_WAIT = 10.0  # seconds the last part may take once the session ends
HEADROOM = 64 * 1024  # what one read may add to the ring
AS_JSON = 6  # the most bytes a byte of output takes in a recording
LEAST_READ = 4096  # read back from the ring at least this much a line
MAX_MARKS = 1024  # held while storage is down: past this, the oldest merge
MAX_TEXT = 64 * 1024  # typed text held while storage is down: past this, left out

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class Recorder:
    """A session sink: marks events, and `run` writes the parts with `store(index, data)`.

    `ring` is the session's scrollback, written before `output` is called; without
    one, the recorder keeps its own of `max_backlog` bytes and writes it itself.
    """

    def __init__(
        self,
        store: Callable[[int, bytes], Awaitable[None]],
        *,
        cols: int,
        rows: int,
        env: dict[str, str],
        title: str = "",
        record_input: bool = False,
        ring: Ring | None = None,
        flush_bytes: int = 256 * 1024,
        flush_seconds: float = 5.0,
        max_backlog: int = 1 << 20,
        stuck_after: float = 2.0,
        limiter: anyio.CapacityLimiter | None = None,
    ) -> None:
        self.store = store
        self.record_input = record_input
        self._owns_ring = ring is None
        self.ring = ring if ring is not None else Ring(max_backlog)
        self.flush_bytes = min(flush_bytes, self.ring.capacity // 2)
        self.flush_seconds = flush_seconds
        self.stuck_after = stuck_after
        # Parts stored at once, shared by the sessions: each store holds its part.
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
        self._header = json.dumps(header).encode() + b"\n"
        # (offset, seconds, kind, text): output from `offset` on was read at
        # `seconds` (kind "o"), or an event came after the output before `offset`.
        self._marks: deque[tuple[int, float, str, str]] = deque()
        self._last_mark = -GRAIN
        self._text = 0  # characters of typed text in the marks
        self._done = self.ring.end  # output up to here is in a part, stored or on its way
        self._end = self.ring.end  # output seen so far
        self._output = codecs.getincrementaldecoder("utf-8")("replace")
        self._input = codecs.getincrementaldecoder("utf-8")("replace")
        self._ready = anyio.Event()
        self._stored = anyio.Event()  # set after each try to store a part
        self._lock = anyio.Lock()
        self._unstored = b""  # a part whose store failed, tried again first
        self._unstored_output = 0
        self._failing = False  # the last try failed, or one waited too long
        self._store_started: float | None = None  # when the part being stored went
        self._rates: deque[float] = deque(maxlen=3)  # bytes a second of the last parts
        self._gap = 0  # output bytes left out since the last event kept
        self.parts = 0
        self.bytes = 0
        self._lost = 0
        self._finished = False  # the last flush ran: no part after it

    @property
    def behind(self) -> int:
        """Output bytes not yet in a part (some may have fallen off the ring)."""
        return self._end - self._done

    @property
    def backlog(self) -> int:
        """Bytes of the recording not yet stored: output the ring still holds, parts in hand."""
        held = self._end - max(self._done, self.ring.start)
        return max(held, 0) + len(self._unstored)

    @property
    def lost(self) -> int:
        """Output bytes left out: counted, and fallen off the ring unstored."""
        return self._lost + max(0, min(self.ring.start, self._end) - self._done)

    def _mark(self, kind: str, text: str = "") -> None:
        now = time.monotonic() - self.started
        if kind == "o":
            if self._marks and self._marks[-1][2] == "o" and now - self._last_mark < GRAIN:
                return
            self._last_mark = now
        self._marks.append((self._end, now, kind, text))
        self._text += len(text)
        if len(self._marks) > MAX_MARKS // 2 or self._text > MAX_TEXT // 2:
            self._ready.set()  # many events: a part now, before any is left out
            if len(self._marks) > MAX_MARKS:
                self._coarsen()

    def _coarsen(self) -> None:
        """Storage is down and marks pile up: the oldest runs of output merge, events go."""
        first = self._marks.popleft()
        second = self._marks[0]
        if first[2] != "o":
            self._text -= len(first[3])
        else:
            if second[2] != "o":
                self._text -= len(second[3])
            self._marks[0] = first  # its output now runs to the mark after

    async def room(self) -> None:
        """Until the next read cannot overwrite unstored output, while the store keeps up.

        A part on its way (waiting for its turn, or being stored) that takes
        longer than `stuck_after` counts as a failing store: from then until a
        part is stored, output that falls off is left out.
        """
        if self.behind + HEADROOM <= self.ring.capacity or self._failing:
            return
        waited_from = anyio.current_time()
        while self.behind + HEADROOM > self.ring.capacity and not self._failing:
            self._ready.set()  # again each time: the writer may have gone back to waiting
            started = waited_from if self._store_started is None else self._store_started
            if anyio.current_time() - started >= self.stuck_after:
                self._failing = True
                self._rates.clear()  # stores slowed down: parts start small again
                return
            with anyio.move_on_after(self.stuck_after - (anyio.current_time() - started)):
                await self._stored.wait()

    # -- the sink ----------------------------------------------------------------------

    def output(self, data: bytes) -> None:
        if self._owns_ring:
            self.ring.write(data)
        self._mark("o")
        self._end += len(data)
        if self.behind >= self.flush_bytes:
            self._ready.set()

    def input(self, data: bytes, echo_off: bool) -> None:
        if self.record_input and not echo_off:
            text = self._input.decode(data)
            if text and self._text + len(text) <= MAX_TEXT:
                self._mark("i", text)

    def resize(self, cols: int, rows: int) -> None:
        self._mark("r", f"{cols}x{rows}")

    # -- writing -----------------------------------------------------------------------

    def _line(self, at: float, kind: str, text: str) -> bytes:
        # orjson: the standard encoder took ~3 ms a megabyte, on the event loop.
        return orjson.dumps([round(at, 6), kind, text]) + b"\n"

    def _part_limit(self) -> int:
        """`flush_bytes`; more while output waits and the store takes parts at a rate
        that stores the larger one well within `stuck_after`, with no other session
        waiting for its turn: up to half the ring, the memory a part may hold."""
        waiting = self._limiter.statistics().tasks_waiting
        if self.behind <= self.flush_bytes or self._failing or waiting or not self._rates:
            return self.flush_bytes
        # The slowest of the last parts, with room for the store to slow down 8 times.
        affordable = int(min(self._rates) * self.stuck_after / 8)
        # A part runs past its limit by up to one read, as JSON.
        cap = self.ring.capacity // 2 - AS_JSON * LEAST_READ
        return max(self.flush_bytes, min(affordable, cap))

    def _part(self, final: bool) -> tuple[bytes, int]:
        """The next part from the marks and the ring (about `_part_limit()` at most),
        and how many output bytes it holds; with `final`, the end of the recording."""
        lines = [self._header] if self.parts == 0 else []
        size = encoded = 0
        limit = self._part_limit()
        while self._marks and encoded < limit:
            start, at, kind, text = self._marks.popleft()
            if kind != "o":
                self._text -= len(text)
                lines.append(self._line(at, kind, text))
                encoded += len(lines[-1])
                continue
            stop = self._marks[0][0] if self._marks else self._end
            begin = min(max(start, self._done, self.ring.start), stop)
            if begin > start:  # fell off the ring before it was stored
                self._gap += begin - start
                self._lost += begin - start
            data = b""
            if begin < stop:
                # The part stays near `limit` stored, however the output encodes.
                room = max(LEAST_READ, (limit - encoded) // AS_JSON)
                data = self.ring.read(begin, min(stop - begin, room))[1]
            if data:
                if self._gap:
                    lines.append(self._line(at, "m", f"{self._gap} bytes of output not recorded"))
                    self._gap = 0
                lines.append(self._line(at, "o", self._output.decode(data)))
                encoded += len(lines[-1])
            self._done = begin + len(data)
            size += len(data)
            if self._done < stop:  # the part is full: the rest of this run goes next
                self._marks.appendleft((self._done, at, "o", ""))
        if final and not self._marks:
            at = time.monotonic() - self.started
            rest = self._output.decode(b"", final=True)
            if rest:
                lines.append(self._line(at, "o", rest))
            if self._gap:
                lines.append(self._line(at, "m", f"{self._gap} bytes of output not recorded"))
                self._gap = 0
        return b"".join(lines), size

    async def flush(self, final: bool = False, *, whole: bool = True) -> bool:
        """Store what waits, in parts (only full ones unless `whole`); on failure
        keep the part for the next try."""
        async with self._lock:  # parts are numbered: one store at a time
            if self._finished:
                return True
            target = self._end  # what waits now: output coming meanwhile goes later
            while True:
                if not self._unstored:
                    # Held as unstored from the moment it is cut, so a part cancelled
                    # anywhere on its way (the limiter too) is tried again.
                    self._unstored, self._unstored_output = self._part(final)
                if not self._unstored:
                    return True
                if not await self._store(self._unstored, self._unstored_output):
                    return False
                if not self._marks or (not final and self._done >= target):
                    return True
                if not whole and self.behind < self.flush_bytes:
                    return True

    async def _store(self, data: bytes, output: int) -> bool:
        async with self._limiter:
            self._store_started = started = anyio.current_time()
            try:
                await self.store(self.parts, data)
                self._rates.append(len(data) / max(anyio.current_time() - started, 1e-6))
            except Exception:
                logger.warning("recording part not stored; will retry", exc_info=True)
                self._failing = True
                self._rates.clear()
                return False
            finally:
                self._store_started = None
                self._stored.set()
                self._stored = anyio.Event()
        self._unstored, self._unstored_output = b"", 0
        self._failing = False
        self.parts += 1
        self.bytes += len(data)
        return True

    async def run(self) -> None:
        """Store parts as they fill or age, until cancelled; then the rest."""
        retry = RETRY_FIRST
        try:
            while True:
                aged = False
                if self.behind < self.flush_bytes and not self._unstored:
                    with anyio.move_on_after(self.flush_seconds) as waited:
                        self._ready = anyio.Event()
                        await self._ready.wait()
                    aged = waited.cancelled_caught
                if await self.flush(whole=aged):
                    retry = RETRY_FIRST
                else:  # the store is down: try again later, not at every output
                    await anyio.sleep(retry)
                    retry = min(retry * 2, RETRY_LAST)
        finally:
            stored = False
            with anyio.CancelScope(shield=True), anyio.move_on_after(FINAL_WAIT):
                stored = await self.flush(final=True)
            if not stored:  # the store is still down, or hung: lost now, counted once
                self._lost += self._unstored_output + self.behind
                self._done = self._end
                self._marks.clear()
                self._unstored, self._unstored_output = b"", 0
            self._finished = True
