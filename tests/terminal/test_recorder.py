"""Recordings: asciicast v2 in parts; typed input only when asked, never without echo."""

from __future__ import annotations

import json

import anyio
import pytest

from terminal.recorder import Recorder

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


async def test_a_store_that_is_down_or_stuck_costs_a_bounded_backlog_and_a_marked_gap() -> None:
    parts: dict[int, bytes] = {}
    down = True
    stuck = anyio.Event()

    async def store(index: int, data: bytes) -> None:
        if down:
            raise OSError("object store down")
        await stuck.wait()  # back, but slow: the part is in flight meanwhile
        parts[index] = data

    recorder = Recorder(
        store, cols=80, rows=24, env={}, flush_bytes=64 << 10, max_backlog=256 << 10
    )
    chunk = b"y\n" * 2048
    for _ in range(1000):  # 4 MB of output while the store is down
        recorder.output(chunk)
        await recorder.flush()
        assert recorder.backlog <= (256 << 10) + (64 << 10)
    lost = recorder.lost
    assert 0 < lost < 4_096_000
    down = False
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.flush)
        await anyio.wait_all_tasks_blocked()  # its part is being stored, slowly
        for _ in range(100):
            recorder.output(chunk)
            assert recorder.backlog <= (256 << 10) + (64 << 10)
        stuck.set()
    recorder.output(b"after")
    await recorder.flush()
    lines = b"".join(parts[i] for i in sorted(parts)).splitlines()
    events = [json.loads(line) for line in lines[1:]]
    # One run of output left out, while down and while stuck: one marker, where it was.
    assert recorder.lost > lost
    gaps = [e[2] for e in events if e[1] == "m"]
    assert gaps == [f"{recorder.lost} bytes of output not recorded"]
    assert events[-1][2] == "after" and events[-2][1] == "m"
    kept = sum(len(e[2]) for e in events if e[1] == "o")
    assert kept + recorder.lost == 1100 * len(chunk) + len("after")


async def test_a_store_that_keeps_up_paces_the_program_and_counts_what_it_left_out() -> None:
    """The session asks for room before each read: a slow but working store slows
    the program down instead of losing output."""
    parts: dict[int, bytes] = {}

    async def slow(index: int, data: bytes) -> None:
        await anyio.sleep(0.005)
        parts[index] = data

    recorder = Recorder(slow, cols=80, rows=24, env={}, flush_bytes=16 << 10, max_backlog=32 << 10)
    chunk = b"line\r\n" * 4000  # one read's worth, as JSON some 28 KiB
    most = 0
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.run)
        for _ in range(100):
            await recorder.room()
            recorder.output(chunk)
            most = max(most, recorder.backlog)
        tg.cancel_scope.cancel()
    assert most <= (32 << 10) + 2 * len(chunk)
    lines = b"".join(parts[i] for i in sorted(parts)).splitlines()
    events = [json.loads(line) for line in lines[1:]]
    kept = sum(len(e[2]) for e in events if e[1] == "o")
    # Waited for while a part is stored; what came before its turn is left out, counted.
    assert kept + recorder.lost == 100 * len(chunk) and kept > 0


async def test_a_store_that_hangs_holds_the_program_only_a_moment() -> None:
    hung = anyio.Event()

    async def never(index: int, data: bytes) -> None:
        await hung.wait()

    recorder = Recorder(never, cols=80, rows=24, env={}, flush_bytes=16 << 10, max_backlog=32 << 10)
    recorder.stuck_after = 0.2
    async with anyio.create_task_group() as tg:
        tg.start_soon(recorder.run)
        with anyio.fail_after(5):
            for _ in range(50):
                await recorder.room()  # waits once, then the store counts as failing
                recorder.output(b"y\n" * 8192)
        assert recorder.lost > 40 * 16384 and recorder.backlog <= (32 << 10) + (64 << 10)
        hung.set()
        tg.cancel_scope.cancel()
