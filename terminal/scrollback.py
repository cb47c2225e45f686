"""The output a session keeps for reattaching, and the browser answers to drop on replay.

Output is addressed by absolute offsets: byte n of everything the program
wrote. The ring keeps the last `capacity` bytes; a viewer asks for what
follows the offset it has been sent, so replay and live output are one path.
"""

from __future__ import annotations

import re
from collections import deque

BLOCK = 16 * 1024


class Ring:
    """The last `capacity` bytes of output, in blocks of `BLOCK` bytes.

    Writes are copied into the newest block, allocated whole, so a program
    writing one byte at a time costs a byte each, not an object each (a chunk
    per read cost about a hundred bytes of headers per byte), and blocks of
    one size leave the allocator no holes. A full ring drops its oldest block
    whole: it holds between `capacity` and `capacity + block` bytes, and never
    moves a megabyte for every write.
    """

    def __init__(self, capacity: int, block: int = BLOCK) -> None:
        if capacity <= 0 or block <= 0:
            raise ValueError("capacity and block must be positive")
        self.capacity = capacity
        self.block = min(block, capacity)
        self._blocks: deque[bytearray] = deque()  # all full but the newest
        self._fill = 0  # bytes used in the newest block
        self._first = 0  # absolute offset of the first byte of the oldest block
        self.end = 0  # absolute offset after the last byte written

    @property
    def start(self) -> int:
        """The oldest offset still held (at most `capacity` before the end)."""
        return max(self._first, self.end - self.capacity)

    @property
    def held(self) -> int:
        """Bytes in memory: `capacity`, give or take a block."""
        return len(self._blocks) * self.block

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if not self._blocks or self._fill == self.block:
                self._blocks.append(bytearray(self.block))
                self._fill = 0
            taken = min(self.block - self._fill, len(view))
            self._blocks[-1][self._fill : self._fill + taken] = view[:taken]
            self._fill += taken
            view = view[taken:]
        self.end += len(data)
        while len(self._blocks) > 1 and self.end - self._first - self.block >= self.capacity:
            self._blocks.popleft()
            self._first += self.block

    def read(self, offset: int, limit: int) -> tuple[int, bytes]:
        """Up to `limit` bytes from `offset` (moved up to `start` when it fell off)."""
        offset = max(offset, self.start)
        if limit <= 0 or offset >= self.end:
            return offset, b""
        index, at = divmod(offset - self._first, self.block)
        parts: list[memoryview] = []
        wanted = limit
        last = len(self._blocks) - 1
        while wanted > 0 and index <= last:
            stop = min(at + wanted, self._fill if index == last else self.block)
            piece = memoryview(self._blocks[index])[at:stop]
            parts.append(piece)
            wanted -= len(piece)
            index, at = index + 1, 0
        return offset, b"".join(parts)


# A replayed scrollback makes the browser's emulator answer again every query
# in it: device attributes, cursor position and status reports, mode reports,
# window and colour reports, DCS requests. Those answers must not reach the
# program as typing, but their bytes can also be keys (Shift+F3 is a cursor
# position report, "\x1b[1;2R"), so only as many answers of each kind as the
# replay held queries of that kind are dropped.
QUERIES = re.compile(
    rb"(?P<c>\x1b\[>?0?c|\x1bZ)"  # DA1, DA2, DECID
    rb"|(?P<R>\x1b\[\??6n)"  # cursor position
    rb"|(?P<n>\x1b\[\??(?:[0-57-9]|[0-9]{2,})n)"  # other status reports
    rb"|(?P<y>\x1b\[\??[0-9]+\$p)"  # DECRQM
    rb"|(?P<t>\x1b\[1[1-9](?:;[0-9]+)?t)"  # window reports
    rb"|(?P<osc>\x1b\][0-9]+;(?:[^\x07\x1b]*;)?\?(?:\x07|\x1b\\)|\x1b\[2[01]t)"  # colours, titles
    rb"|(?P<u>\x1b\[\?u)"  # keyboard flags (kitty)
    rb"|(?P<dcs>\x1bP[$+]q[^\x1b]*\x1b\\|\x1b\[>0?q|\x1b\[=0?c)"  # DECRQSS, XTVERSION, DA3
)
ANSWERS = re.compile(
    rb"(?P<c>\x1b\[[?>][0-9;]*c)"
    rb"|(?P<R>\x1b\[\??[0-9]+;[0-9]+(?:;[0-9]+)?R)"
    rb"|(?P<n>\x1b\[\??[0-9;]*n)"
    rb"|(?P<y>\x1b\[\??[0-9;]*\$y)"
    rb"|(?P<t>\x1b\[[0-9;]*t)"
    rb"|(?P<osc>\x1b\](?:[0-9]+;|[lL])[^\x07\x1b]*(?:\x07|\x1b\\))"
    rb"|(?P<dcs>\x1bP[^\x1b]*\x1b\\)"
    rb"|(?P<u>\x1b\[\?[0-9]*u)"
)
MAX_OWED = 1000  # per kind: a replay full of queries does not eat typing forever
LONGEST_QUERY = 256  # bytes of replay kept to join a query cut between two frames


class Answers:
    """The emulator answers one viewer owes for the output replayed to it."""

    def __init__(self) -> None:
        self._owed: dict[str, int] = {}
        self._rest = b""  # the end of the replay so far, after its last query

    def expect(self, replayed: bytes) -> None:
        """Count the queries in the next piece of replayed output."""
        data = self._rest + replayed
        end = 0
        for found in QUERIES.finditer(data):
            kind = str(found.lastgroup)
            self._owed[kind] = min(self._owed.get(kind, 0) + 1, MAX_OWED)
            end = found.end()
        self._rest = data[end:][-LONGEST_QUERY:]

    def drop(self, typed: bytes) -> bytes:
        """`typed` without the answers still owed (each dropped once)."""
        if not self._owed:
            return typed

        def owed(found: re.Match[bytes]) -> bytes:
            kind = str(found.lastgroup)
            if self._owed.get(kind, 0) <= 0:
                return found.group()
            self._owed[kind] -= 1
            if not self._owed[kind]:
                del self._owed[kind]
            return b""

        return ANSWERS.sub(owed, typed)
