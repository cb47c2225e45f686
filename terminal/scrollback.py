"""The output a session keeps for reattaching, and the browser answers to drop on replay.

Output is addressed by absolute offsets: byte n of everything the program
wrote. The ring keeps the last `capacity` bytes; a viewer asks for what
follows the offset it has been sent, so replay and live output are one path.
"""

from __future__ import annotations

import re
from collections import deque


class Ring:
    """The last `capacity` bytes of output, kept as the chunks they were written in.

    Trimming drops whole chunks (cutting at most the oldest one), so a full
    ring does not move a megabyte for every chunk it takes.
    """

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._chunks: deque[tuple[int, bytes]] = deque()  # (offset of its first byte, data)
        self._size = 0
        self.end = 0  # absolute offset after the last byte written

    @property
    def start(self) -> int:
        """The oldest offset still held."""
        return self.end - self._size

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._chunks.append((self.end, data))
        self.end += len(data)
        self._size += len(data)
        while self._size > self.capacity:
            offset, oldest = self._chunks[0]
            excess = self._size - self.capacity
            if len(oldest) <= excess:
                self._chunks.popleft()
                self._size -= len(oldest)
            else:
                self._chunks[0] = (offset + excess, oldest[excess:])
                self._size -= excess

    def read(self, offset: int, limit: int) -> tuple[int, bytes]:
        """Up to `limit` bytes from `offset` (moved up to `start` when it fell off)."""
        offset = max(offset, self.start)
        if limit <= 0 or offset >= self.end:
            return offset, b""
        # Readers are usually near the end: look for the first chunk from the right.
        index = len(self._chunks) - 1
        while self._chunks[index][0] > offset:
            index -= 1
        parts: list[bytes | memoryview] = []
        wanted = limit
        while wanted > 0 and index < len(self._chunks):
            chunk_offset, data = self._chunks[index]
            piece = memoryview(data)[offset - chunk_offset if not parts else 0 :][:wanted]
            parts.append(piece)
            wanted -= len(piece)
            index += 1
        return offset, b"".join(parts)


# What a terminal emulator sends by itself when output asks it something:
# device attributes, cursor position and status reports, mode reports, colour
# and title reports (OSC), and DCS replies. Typed keys never look like these.
ANSWERS = re.compile(
    rb"\x1b\[[?>=]?[0-9;]*c"  # DA1 / DA2 / DA3
    rb"|\x1b\[[0-9]+;[0-9]+R"  # cursor position report
    rb"|\x1b\[[?]?[0-9]*n"  # device status report
    rb"|\x1b\[[?]?[0-9;]*\$y"  # mode report (DECRPM)
    rb"|\x1b\[[0-9;]*t"  # window reports
    rb"|\x1b\][0-9]+;[^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC reports (colours, title)
    rb"|\x1bP[^\x1b]*\x1b\\"  # DCS replies (XTVERSION, DECRQSS)
)


def drop_answers(data: bytes) -> bytes:
    """`data` without the emulator's automatic answers."""
    return ANSWERS.sub(b"", data)
