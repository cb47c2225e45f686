"""The scrollback ring and the filter of emulator answers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from terminal.scrollback import Ring, drop_answers


@given(st.integers(1, 64), st.lists(st.binary(max_size=40), max_size=30), st.integers(0, 2000))
def test_the_ring_keeps_the_last_bytes_at_their_offsets(
    capacity: int, writes: list[bytes], offset: int
) -> None:
    ring = Ring(capacity)
    everything = b""
    for data in writes:
        ring.write(data)
        everything += data
    assert ring.end == len(everything)
    assert ring.start == max(0, len(everything) - capacity)
    start, data = ring.read(offset, 1000)
    assert start == max(offset, ring.start)
    assert data == everything[start:]


def test_answers_go_typed_keys_stay() -> None:
    answers = b"\x1b[?1;2c\x1b[>0;276;0c\x1b[12;40R\x1b[0n\x1b]11;rgb:0000/0000/0000\x07"
    keys = b"ls -la\r\x1b[A\x1b[D\x1bOP\x03"
    assert drop_answers(answers + keys + answers) == keys
