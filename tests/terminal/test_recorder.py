"""Recordings: asciicast v2 in parts; typed input only when asked, never without echo."""

from __future__ import annotations

import json

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
