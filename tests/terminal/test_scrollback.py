"""The scrollback ring and the filter of emulator answers."""

from __future__ import annotations

import tracemalloc
from typing import TYPE_CHECKING

from hypothesis import given
from hypothesis import strategies as st

from terminal.scrollback import BLOCK, Answers, Ring

if TYPE_CHECKING:
    from collections.abc import Callable


def tracemalloc_size(work: Callable[[], object]) -> int:
    """Bytes still allocated after `work` (what it keeps), by tracemalloc."""
    tracemalloc.start()
    try:
        kept = work()
        del kept
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


@given(
    st.integers(1, 64),
    st.integers(1, 16),
    st.lists(st.binary(max_size=40), max_size=30),
    st.integers(0, 2000),
    st.integers(1, 1000),
)
def test_the_ring_keeps_the_last_bytes_at_their_offsets(
    capacity: int, block: int, writes: list[bytes], offset: int, limit: int
) -> None:
    ring = Ring(capacity, block)
    everything = b""
    for data in writes:
        ring.write(data)
        everything += data
        assert ring.held <= capacity + 2 * block  # whole blocks: a part of one at each end
    assert ring.end == len(everything)
    assert ring.start == max(0, len(everything) - capacity)
    start, data = ring.read(offset, limit)
    assert start == max(offset, ring.start)
    assert data == everything[start:][:limit]


def test_one_byte_writes_cost_a_byte_each() -> None:
    """A program writing a byte at a time: the ring's memory is its capacity and a
    block, not a Python object per write."""
    capacity = 128 * 1024
    ring = Ring(capacity)

    def write() -> None:
        for _ in range(3 * capacity):
            ring.write(b"x")

    kept = tracemalloc_size(write)
    assert kept <= capacity + BLOCK + 4096, kept  # and the deque's own few slots
    assert ring.read(ring.end - 3, 10) == (ring.end - 3, b"xxx")


def test_answers_to_replayed_queries_go_typed_keys_stay() -> None:
    answers = Answers()
    answers.expect(b"$ \x1b[c\x1b[>c\x1b[6n\x1b[5n\x1b]11;?\x07 done")
    owed = b"\x1b[?1;2c\x1b[>0;276;0c\x1b[12;40R\x1b[0n\x1b]11;rgb:0000/0000/0000\x07"
    keys = b"ls -la\r\x1b[A\x1b[D\x1bOP\x03"
    assert answers.drop(owed + keys) == keys
    # Each answer once: a second cursor report (or Shift+F3, the same bytes) is typing.
    assert answers.drop(b"\x1b[1;2R\x1b[0n") == b"\x1b[1;2R\x1b[0n"


@given(st.binary(max_size=200))
def test_nothing_is_dropped_without_queries(typed: bytes) -> None:
    assert Answers().drop(typed) == typed


def test_shift_f3_after_a_replay_without_cursor_queries_is_typed() -> None:
    answers = Answers()
    answers.expect(b"\x1b[c prompt$ ")
    assert answers.drop(b"\x1b[?62;22c\x1b[1;2R") == b"\x1b[1;2R"


def test_a_query_cut_between_two_frames_of_the_replay_is_counted() -> None:
    answers = Answers()
    answers.expect(b"prompt$ \x1b[")
    answers.expect(b"6n and more")
    assert answers.drop(b"\x1b[3;9R\x1b[1;2R") == b"\x1b[1;2R"
