"""Recordings: asciicast v2 in parts; typed input only when asked, never without echo."""

from __future__ import annotations

import json

import anyio
import pytest

from terminal import recorder as recorder_module
from terminal.recorder import Recorder
from terminal.scrollback import Ring

pytestmark = pytest.mark.anyio


async def test_parts_make_one_asciicast() -> None:
    parts: dict[int, bytes] = {}

    async def store(index: int, data: bytes) -> None:
        parts[index] = data

    recorder = Recorder(store, cols=80, rows=24, env={"TERM": "xterm"}, record_input=True)
    recorder.output("héllo ".encode()[:2])  # a character cut between two reads
    recorder.output("héllo ".encode()[2:])
    await recorder.flush()
    recorder.input(b"ls\r", echo_off=False)
    recorder.input(b"hunter2\r", echo_off=True)
    recorder.resize(100, 30)
    await recorder.flush()
    lines = b"".join(parts[i] for i in sorted(parts)).decode().splitlines()
    assert json.loads(lines[0])["version"] == 2
    events = [json.loads(line) for line in lines[1:]]
    assert "".join(e[2] for e in events if e[1] == "o") == "héllo "
    assert [e[2] for e in events if e[1] == "i"] == ["ls\r"]
    assert [e[2] for e in events if e[1] == "r"] == ["100x30"]
    assert "hunter2" not in "".join(lines)


async def test_input_is_off_by_default_and_a_failed_part_is_kept() -> None:
    calls: list[bytes] = []

    async def flaky(index: int, data: bytes) -> None:
        calls.append(data)
        if len(calls) == 1:
            raise OSError("object store down")

    recorder = Recorder(flaky, cols=80, rows=24, env={})
    recorder.input(b"typed\r", echo_off=False)
    recorder.output(b"shown")
    assert await recorder.flush() is False
    assert await recorder.flush() is True
    assert calls[0] == calls[1] and b"typed" not in calls[1] and recorder.parts == 1


def replay(parts: dict[int, bytes]) -> list[list[object]]:
    lines = b"".join(parts[i] for i in sorted(parts)).splitlines()
    assert json.loads(lines[0])["version"] == 2
    return [json.loads(line) for line in lines[1:]]


def output_of(events: list[list[object]]) -> str:
    return "".join(str(e[2]) for e in events if e[1] == "o")


async def test_output_is_read_back_from_the_sessions_ring_not_copied() -> None:
    parts: dict[int, bytes] = {}

    async def store(index: int, data: bytes) -> None:
        parts[index] = data

    ring = Ring(1 << 20)
    recorder = Recorder(store, cols=80, rows=24, env={}, ring=ring, flush_bytes=64 << 10)
    for n in range(3000):
        data = f"line {n}\r\n".encode()
        ring.write(data)  # as the session does, before its sinks see it
        recorder.output(data)
        if n % 700 == 0:
            await recorder.flush()
    assert recorder.backlog == recorder.behind  # nothing held beside the ring
    await recorder.flush()
    assert output_of(replay(parts)) == "".join(f"line {n}\r\n" for n in range(3000))
    assert recorder.lost == 0 and recorder.backlog == 0


class Store:
    """An object store that is down until told otherwise."""

    def __init__(self) -> None:
        self.parts: dict[int, bytes] = {}
        self.down = True

    async def __call__(self, index: int, data: bytes) -> None:
        if self.down:
            raise OSError("object store down")
        self.parts[index] = data


async def test_a_store_that_is_down_costs_one_part_and_a_marked_gap() -> None:
    store = Store()
    recorder = Recorder(
        store, cols=80, rows=24, env={}, flush_bytes=64 << 10, max_backlog=256 << 10
    )
    chunk = b"y\n" * 1024
    for _ in range(2000):  # 4 MB of output while the store is down
        recorder.output(chunk)
        assert not await recorder.flush()
        assert recorder.backlog - recorder.behind <= (64 << 10) + 4096  # one part in hand
    store.down = False
    recorder.output(b"after")
    assert await recorder.flush()
    events = replay(store.parts)
    gaps = [e[2] for e in events if e[1] == "m"]
    assert gaps == [f"{recorder.lost} bytes of output not recorded"]  # one run, one marker
    kept = output_of(events)
    assert kept.endswith("after") and len(kept) + recorder.lost == 2000 * len(chunk) + 5
    assert len(kept) > 256 << 10  # the first part, and what the ring still held


async def test_marks_stay_bounded_while_the_store_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_module, "GRAIN", 0.0)  # every read is an event
    store = Store()
    recorder = Recorder(store, cols=80, rows=24, env={}, record_input=True)
    await recorder.flush()  # the header's part fails, and is kept
    for n in range(5000):
        recorder.output(f"{n},".encode())
        if n % 3 == 0:
            recorder.input(b"k", echo_off=False)
        assert len(recorder._marks) <= recorder_module.MAX_MARKS
    store.down = False
    assert await recorder.flush()
    assert output_of(replay(store.parts)) == "".join(f"{n}," for n in range(5000))
    assert recorder.lost == 0


async def test_a_store_that_keeps_up_paces_the_program_and_loses_nothing() -> None:
    """The session asks for room before each read: a slow but working store slows
    the program down instead of losing output."""
    parts: dict[int, bytes] = {}

    async def slow(index: int, data: bytes) -> None:
        await anyio.sleep(0.005)
        parts[index] = data

    recorder = Recorder(slow, cols=80, rows=24, env={}, flush_bytes=64 << 10, max_backlog=256 << 10)
    chunk = b"line\r\n" * 4000  # one read's worth
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.run)
        for _ in range(100):
            await recorder.room()
            recorder.output(chunk)
            assert recorder.behind <= 256 << 10
        tg.cancel_scope.cancel()
    assert output_of(replay(parts)) == (chunk * 100).decode()
    assert recorder.lost == 0


async def test_a_program_faster_than_the_store_gets_larger_parts_not_more() -> None:
    """A store's cost is mostly per part: what waits while one is stored goes as one
    part (up to half the ring), so a flood needs a few stores, not one per 64 KiB."""
    sizes: list[int] = []
    storing, release = anyio.Event(), anyio.Event()

    async def store(index: int, data: bytes) -> None:
        sizes.append(len(data))
        if index:  # the first goes at once: the store is fast
            storing.set()
            await release.wait()

    recorder = Recorder(store, cols=80, rows=24, env={}, flush_bytes=64 << 10, max_backlog=1 << 20)
    chunk = (b"x" * 99 + b"\n") * 240  # one read's worth: 24 KB
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.run)
        recorder.output(chunk * 3)
        with anyio.fail_after(5):
            while recorder.parts < 1:
                await recorder._stored.wait()
        recorder.output(chunk * 3)
        await storing.wait()  # the second part is on its way
        for _ in range(16):  # 384 KB more meanwhile: room for all of it
            await recorder.room()
            recorder.output(chunk)
        release.set()
        with anyio.fail_after(5):
            assert await recorder.flush()  # after the part on its way: what is left
        tg.cancel_scope.cancel()
    assert len(sizes) == 3, sizes  # the 384 KB went as one part, not six
    assert sizes[2] > 384_000
    assert recorder.lost == 0


async def test_a_slow_store_that_works_gets_parts_it_can_store_in_time() -> None:
    """A part grows only as far as the store's rate stores it well within
    `stuck_after`: a slow store that works never counts as failing, so nothing is lost."""
    parts: dict[int, bytes] = {}

    async def slow(index: int, data: bytes) -> None:  # 1 MiB a second
        await anyio.sleep(0.005 + len(data) / (1 << 20))
        parts[index] = data

    recorder = Recorder(slow, cols=80, rows=24, env={}, flush_bytes=32 << 10, max_backlog=512 << 10)
    recorder.stuck_after = 0.15  # a quarter of the ring would take 0.25 s
    chunk = (b"x" * 99 + b"\n") * 240
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.run)
        for _ in range(64):  # 1.5 MB
            await recorder.room()
            recorder.output(chunk)
        tg.cancel_scope.cancel()
    assert recorder.lost == 0
    assert output_of(replay(parts)) == (chunk * 64).decode()
    assert max(len(p) for p in parts.values()) < 64 << 10


async def test_a_store_that_hangs_holds_the_program_only_a_moment() -> None:
    hung = anyio.Event()

    async def never(index: int, data: bytes) -> None:
        await hung.wait()

    recorder = Recorder(
        never, cols=80, rows=24, env={}, flush_bytes=64 << 10, max_backlog=256 << 10
    )
    recorder.stuck_after = 0.2
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.run)
        with anyio.fail_after(5):
            for _ in range(100):
                await recorder.room()  # waits once, then the store counts as failing
                recorder.output(b"y\n" * 8192)
        assert recorder.behind > 1 << 20  # the program went on past what the ring keeps
        assert recorder.backlog - recorder.behind <= 2 * (64 << 10)  # one part, as JSON
        hung.set()
        tg.cancel_scope.cancel()
    assert recorder.lost > 0


async def test_a_flush_returns_while_the_program_keeps_printing() -> None:
    """A recording read while `top` runs: the flush stores what waited, not forever."""
    parts: dict[int, bytes] = {}

    async def store(index: int, data: bytes) -> None:
        await anyio.sleep(0.02)
        parts[index] = data

    recorder = Recorder(store, cols=80, rows=24, env={})

    async def progress_bar() -> None:
        while True:
            recorder.output(b"x" * 10)
            await anyio.sleep(0.015)

    async with anyio.create_task_group() as tg:
        tg.start_soon(progress_bar)
        await anyio.sleep(0.05)
        with anyio.fail_after(2):
            assert await recorder.flush()
        assert recorder.parts <= 3
        tg.cancel_scope.cancel()


async def test_a_part_cancelled_while_waiting_its_turn_is_stored_later() -> None:
    parts: dict[int, bytes] = {}

    async def store(index: int, data: bytes) -> None:
        parts[index] = data

    turns = anyio.CapacityLimiter(1)
    recorder = Recorder(store, cols=80, rows=24, env={}, limiter=turns)
    recorder.output(b"IMPORTANT")
    async with anyio.create_task_group() as tg:

        async def another_session_storing() -> None:
            async with turns:
                await anyio.sleep(0.5)

        tg.start_soon(another_session_storing)
        await anyio.wait_all_tasks_blocked()
        with anyio.move_on_after(0.1):  # the reader of the recording went away
            await recorder.flush()
    assert await recorder.flush(final=True)
    assert output_of(replay(parts)) == "IMPORTANT" and recorder.lost == 0


async def test_what_a_hung_store_leaves_at_the_end_is_counted_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recorder_module, "FINAL_WAIT", 0.2)
    up = False
    parts: dict[int, bytes] = {}

    async def store(index: int, data: bytes) -> None:
        if not up:
            await anyio.sleep_forever()
        parts[index] = data

    recorder = Recorder(store, cols=80, rows=24, env={}, flush_seconds=0.05)
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.run)
        recorder.output(b"a" * 100)
        await anyio.sleep(0.2)  # its part is on its way, and hangs
        recorder.output(b"b" * 5000)
        tg.cancel_scope.cancel()
    assert recorder.lost == 5100 and recorder.backlog == 0
    up = True
    assert await recorder.flush()  # a reader after the end: nothing stored, nothing counted
    assert not parts and recorder.lost == 5100
