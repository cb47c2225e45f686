"""The frame protocol: every byte string decodes to a frame or a FrameError, nothing else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal import frames


@given(st.binary(max_size=4096))
def test_any_bytes_decode_or_fail_cleanly(data: bytes) -> None:
    try:
        frame = frames.decode(data)
    except frames.FrameError as exc:
        assert exc.code in (1003, 1009)
    else:
        assert isinstance(frame, frames.Input | frames.Resize | frames.Ack | frames.Unknown)


@given(st.integers(1, frames.MAX_COLS), st.integers(1, frames.MAX_ROWS))
def test_resize_round_trips(cols: int, rows: int) -> None:
    assert frames.decode(frames.resize_frame(cols, rows)) == frames.Resize(cols, rows)


@given(st.binary(max_size=1000))
def test_input_and_ack_round_trip(data: bytes) -> None:
    assert frames.decode(frames.input_frame(data)) == frames.Input(data)
    assert frames.decode(frames.ack_frame(len(data))) == frames.Ack(len(data))


@given(st.text(min_size=1, max_size=200).filter(lambda q: q.strip()), st.booleans())
def test_query_round_trips(question: str, attach: bool) -> None:
    assert frames.decode(frames.query_frame(question, attach)) == frames.Query(
        question.strip(), attach
    )


@given(st.integers(0, (1 << 32) - 1))
def test_counts_are_acks_in_four_bytes(count: int) -> None:
    assert frames.decode(frames.count_frame(count)) == frames.Ack(count)
    assert frames.count_frame(count) == bytes([frames.COUNT]) + count.to_bytes(4, "big")


@given(st.integers(5, 255), st.binary(max_size=100))
def test_unknown_types_are_ignored_not_errors(kind: int, payload: bytes) -> None:
    assert frames.decode(bytes([kind]) + payload) == frames.Unknown(kind)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x01not json",
        b"\x01[1, 2]",
        b'\x01{"cols": 0, "rows": 10}',
        b'\x01{"cols": true, "rows": 10}',
        b'\x01{"cols": 80}',
        b'\x02{"bytes": -1}',
        b"\x04",
        b"\x04\x00\x00\x01",
        b"\x04\x00\x00\x00\x01\x00",
        b"\x01" + json.dumps({"cols": 10**9, "rows": 1}).encode(),
    ],
)
def test_bad_control_frames(frame: bytes) -> None:
    with pytest.raises(frames.FrameError):
        frames.decode(frame)


def test_oversized_frames_are_1009() -> None:
    with pytest.raises(frames.FrameError) as failed:
        frames.decode(b"\x00" + b"x" * frames.MAX_FRAME)
    assert failed.value.code == 1009
