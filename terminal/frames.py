"""The terminal WebSocket protocol: binary frames whose first byte is the type.

Client to server: INPUT (raw bytes), RESIZE (JSON {cols, rows}), ACK (JSON
{bytes}), QUERY (JSON {question, attach_last_command}), COUNT (an ACK as a
4-byte big-endian count, the cheap form). Server to client:
OUTPUT (raw bytes), STATUS (JSON). Unknown types are ignored, so both sides
can grow. docs/terminal-protocol.md is the reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

INPUT: Final = 0x00
RESIZE: Final = 0x01
ACK: Final = 0x02
QUERY: Final = 0x03  # a question, answered to this viewer only
COUNT: Final = 0x04  # an ACK in binary: nothing to parse on the hot path

OUTPUT: Final = 0x00
STATUS: Final = 0x01

MAX_FRAME: Final = 1 << 20  # a client frame over 1 MiB closes the socket
MAX_COLS: Final = 1000
MAX_ROWS: Final = 500


class FrameError(ValueError):
    """A frame that breaks the protocol: the socket closes with 1003 or 1009."""

    def __init__(self, message: str, code: int = 1003) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Input:
    data: bytes


@dataclass(frozen=True, slots=True)
class Resize:
    cols: int
    rows: int


@dataclass(frozen=True, slots=True)
class Ack:
    bytes: int


@dataclass(frozen=True, slots=True)
class Query:
    question: str
    attach_last_command: bool


@dataclass(frozen=True, slots=True)
class Unknown:
    kind: int


Frame = Input | Resize | Ack | Query | Unknown


def _json(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise FrameError("the frame's payload is not JSON") from None
    if not isinstance(value, dict):
        raise FrameError("the frame's payload is not a JSON object")
    return value


def _int(value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FrameError(f"{what} must be an integer from {low} to {high}")
    return value


def decode(frame: bytes) -> Frame:
    """A client frame; FrameError for one that breaks the protocol."""
    if len(frame) > MAX_FRAME:
        raise FrameError("frame too large", 1009)
    if not frame:
        raise FrameError("empty frame")
    kind, payload = frame[0], frame[1:]
    if kind == INPUT:
        return Input(bytes(payload))
    if kind == RESIZE:
        body = _json(payload)
        return Resize(
            _int(body.get("cols"), 1, MAX_COLS, "cols"), _int(body.get("rows"), 1, MAX_ROWS, "rows")
        )
    if kind == ACK:
        return Ack(_int(_json(payload).get("bytes"), 0, 1 << 40, "bytes"))
    if kind == COUNT:
        if len(payload) != 4:
            raise FrameError("a COUNT frame carries a 4-byte count")
        return Ack(int.from_bytes(payload, "big"))
    if kind == QUERY:
        body = _json(payload)
        question = body.get("question")
        if not isinstance(question, str) or not 1 <= len(question.strip()) <= 4000:
            raise FrameError("question must be text of 1 to 4000 characters")
        attach = body.get("attach_last_command", False)
        if not isinstance(attach, bool):
            raise FrameError("attach_last_command must be true or false")
        return Query(question.strip(), attach)
    return Unknown(kind)


def output(data: bytes) -> bytes:
    return bytes([OUTPUT]) + data


def status(**fields: Any) -> bytes:
    return bytes([STATUS]) + json.dumps(fields, separators=(",", ":")).encode()


def input_frame(data: bytes) -> bytes:
    return bytes([INPUT]) + data


def resize_frame(cols: int, rows: int) -> bytes:
    return bytes([RESIZE]) + json.dumps({"cols": cols, "rows": rows}).encode()


def query_frame(question: str, attach_last_command: bool = False) -> bytes:
    body = {"question": question, "attach_last_command": attach_last_command}
    return bytes([QUERY]) + json.dumps(body).encode()


def ack_frame(count: int) -> bytes:
    return bytes([ACK]) + json.dumps({"bytes": count}).encode()


def count_frame(count: int) -> bytes:
    return bytes([COUNT]) + count.to_bytes(4, "big")
