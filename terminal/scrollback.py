"""The output a session keeps for reattaching, and the browser answers to drop on replay.

Output is addressed by absolute offsets: byte n of everything the program
wrote. The ring keeps the last `capacity` bytes; a viewer asks for what
follows the offset it has been sent, so replay and live output are one path.
"""

from __future__ import annotations

import re


class Ring:
    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._buffer = bytearray()
        self.end = 0  # absolute offset after the last byte written

    @property
    def start(self) -> int:
        """The oldest offset still held."""
        return self.end - len(self._buffer)

    def write(self, data: bytes) -> None:
        self._buffer += data
        self.end += len(data)
        excess = len(self._buffer) - self.capacity
        if excess > 0:
            del self._buffer[:excess]

    def read(self, offset: int, limit: int) -> tuple[int, bytes]:
        """Up to `limit` bytes from `offset` (moved up to `start` when it fell off)."""
        offset = max(offset, self.start)
        begin = offset - self.start
        return offset, bytes(self._buffer[begin : begin + max(0, limit)])


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
