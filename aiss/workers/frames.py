"""The frames parent and worker exchange on the worker's stdin and stdout.

Each frame is a 4-byte big-endian length and a pickle (protocol 5, so numpy
arrays travel as raw buffers). Both ends are this codebase, started by the
parent, so the pickles are trusted.
"""

from __future__ import annotations

import pickle
import struct
from typing import Any, BinaryIO, Final

HEADER: Final = struct.Struct(">I")
LARGEST: Final = 1 << 31  # a frame beyond this is a broken stream, not data


def encode(value: Any) -> bytes:
    body = pickle.dumps(value, protocol=5)
    if len(body) >= LARGEST:
        raise ValueError(f"a worker frame of {len(body)} bytes is too large")
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> Any:
    return pickle.loads(body)


def read(stream: BinaryIO) -> Any | None:
    """The next frame's value from a blocking stream; None at its end."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    body = stream.read(size)
    if len(body) < size:
        return None
    return decode(body)
