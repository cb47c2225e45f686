"""Terminal sessions over REST and the WebSocket protocol, with real shells on PTYs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from aiss.app import create_app
from terminal import frames
from terminal.processes import snapshot

from ...servers import serving
from .conftest import Api, app_settings
from .terminal_client import attached, open_local, ticket
from .test_documents import ready, upload, user

pytestmark = pytest.mark.anyio


def processes_matching(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def settled(wait: Any, value: Any, seconds: float = 15) -> None:
    """Until `value()` holds still for a second (it must, within `seconds`)."""
    with anyio.fail_after(seconds):
        last = None
        while (now := value()) != last:
            last = now
            await wait(1.0)


def written_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar")


async def test_a_shell_runs_records_and_reports_its_exit(api: Api) -> None:
    _, token = await user(api, await api.token())
    session = await open_local(api, token, title="first")
    assert session["status"] in ("connecting", "detached", "connected")
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        await term.type(b"echo $((6*7))-ok\r")
        await term.expect(rb"42-ok")
        metrics = (await api.http.get("/metrics")).text
        connected = re.search(r'aiss_terminal_sessions\{status="connected"\} (\d+)', metrics)
        assert connected and int(connected.group(1)) >= 1
        await term.type(b"exit 7\r")
        assert (await term.status("exit"))["code"] == 7
    with anyio.fail_after(10):
        while (
            record := (await api.call("GET", f"/terminal/sessions/{session['id']}", token)).json()
        )["status"] != "closed":
            await anyio.sleep(0.05)
    assert record["exit_code"] == 7 and record["bytes_in"] > 0 and record["bytes_out"] > 0

    cast = await api.call("GET", f"/terminal/sessions/{session['id']}/recording", token)
    assert cast.status_code == 200
    lines = cast.text.splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2 and header["width"] == 80 and header["title"] == "first"
    events = [json.loads(line) for line in lines[1:]]
    assert all(kind in ("o", "r") for _, kind, _ in events)
    assert "42-ok" in "".join(text for _, kind, text in events if kind == "o")
    assert [e[0] for e in events] == sorted(e[0] for e in events)


async def test_reattach_replays_and_finds_the_same_shell(api: Api) -> None:
    _, token = await user(api, await api.token())
    session = await open_local(api, token)
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        # Queries the browser answers again when it replays them: device attributes
        # and the cursor position.
        await term.type(
            b"export SECRET_WORD=marmalade; printf '\\033[c\\033[6n'; echo set-$SECRET_WORD\r"
        )
        await term.expect(rb"set-marmalade")
    listed = (await api.call("GET", "/terminal/sessions", token)).json()["items"]
    assert [s["status"] for s in listed if s["id"] == session["id"]] == ["detached"]

    async with attached(api, token, session["id"]) as again:
        begin = await again.status("replay-begin")
        assert begin["bytes"] > 0
        # What a browser answers by itself to queries inside the replay: never typed.
        await again.type(b"\x1b[?1;2c\x1b[12;40R")
        await again.status("replay-end")
        assert b"set-marmalade" in again.output
        await again.type(b"echo got-$SECRET_WORD\r")
        await again.expect(rb"got-marmalade")
        await again.pump(0.3)
        assert b"1;2c" not in again.output and b"12;40R" not in again.output
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_observers_see_but_cannot_type(api: Api) -> None:
    admin = await api.token()
    _, owner = await user(api, admin)
    watcher, watcher_token = await user(api, admin)
    session = await open_local(api, owner)
    path = f"/terminal/sessions/{session['id']}/ticket"
    assert (await api.call("POST", path, watcher_token, json={})).status_code == 404
    shared = await api.call(
        "PATCH", f"/terminal/sessions/{session['id']}", owner, json={"shared_with": [watcher["id"]]}
    )
    assert shared.status_code == 200, shared.text
    granted = await ticket(api, watcher_token, session["id"], "driver")
    assert granted["role"] == "observer"  # only the owner drives
    async with (
        attached(api, owner, session["id"]) as driver,
        attached(api, watcher_token, session["id"]) as observer,
    ):
        await observer.type(b"echo typed-by-observer\r")
        assert (await observer.status("error"))["message"].startswith("read-only")
        await driver.type(b"echo from-$((1+1))-driver\r")
        await observer.expect(rb"from-2-driver")
        await driver.pump(0.3)
        assert b"typed-by-observer" not in driver.output
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", owner)


async def test_a_flood_pauses_at_the_watermark_instead_of_piling_up(api: Api) -> None:
    _, token = await user(api, await api.token())
    session = await open_local(api, token)
    async with attached(api, token, session["id"], auto_ack=False) as term:
        await term.status("replay-end")
        await term.ack(term.received)
        start = term.received
        await term.type(b"yes flooding-the-terminal\r")
        await term.expect(rb"flooding-the-terminal")
        # Nothing acknowledged: what arrives stops at the high watermark.
        await settled(term.pump, lambda: term.received)
        first = term.received - start
        assert first <= 256 * 1024 + 64 * 1024
        yes = processes_matching("flooding-the-terminal")
        assert yes, "yes should still be running, blocked on its terminal"
        # The program itself is paused: it writes nothing more (its terminal is full).
        await settled(term.pump, lambda: written_bytes(yes[0]))
        assert term.received - start == first
        await term.ack(term.received)  # consumed: output flows again
        await term.pump(1.0)
        assert term.received - start > first
        await term.type(b"\x03")
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_ending_a_session_leaves_no_process(api: Api) -> None:
    _, token = await user(api, await api.token())
    session = await open_local(api, token)
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        await term.type(b"sleep 4242 & (trap '' HUP; exec sleep 4343) & echo started\r")
        await term.expect(rb"started")
        await term.pump(0.3)
        left = processes_matching("sleep\x004242") + processes_matching("sleep\x004343")
        assert len(left) == 2
    deleted = await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)
    assert deleted.status_code == 204
    with anyio.fail_after(5):
        while processes_matching("sleep\x004242") or processes_matching("sleep\x004343"):
            await anyio.sleep(0.1)
    record = (await api.call("GET", f"/terminal/sessions/{session['id']}", token)).json()
    assert record["status"] == "closed"
    assert not [p for p in snapshot() if p.pid in left]  # not even a zombie


async def test_other_users_cannot_see_attach_or_download(api: Api) -> None:
    admin = await api.token()
    _, alice = await user(api, admin)
    _, bob = await user(api, admin)
    session = await open_local(api, alice)
    one = f"/terminal/sessions/{session['id']}"
    for method, path in (
        ("GET", one),
        ("POST", f"{one}/ticket"),
        ("GET", f"{one}/recording"),
        ("DELETE", one),
        ("PATCH", one),
    ):
        body: dict[str, Any] | None = {} if method in ("POST", "PATCH") else None
        assert (await api.call(method, path, bob, json=body)).status_code == 404, (method, path)
    listed = (await api.call("GET", "/terminal/sessions", bob, params={"all": "true"})).json()
    assert session["id"] not in [s["id"] for s in listed["items"]]
    everyone = (await api.call("GET", "/terminal/sessions", admin, params={"all": "true"})).json()
    assert session["id"] in [s["id"] for s in everyone["items"]]
    # A ticket is good for its own session, once: tried elsewhere, it is spent.
    granted = await ticket(api, alice, session["id"])
    other = await open_local(api, bob)
    base = str(api.http.base_url).rstrip("/").replace("http://", "ws://")
    for session_id in (other["id"], session["id"]):
        url = f"{base}/api/v1/terminal/sessions/{session_id}/stream?ticket={granted['ticket']}"
        async with connect(url) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    await api.call("DELETE", one, alice)
    await api.call("DELETE", f"/terminal/sessions/{other['id']}", bob)


async def test_commands_are_logged_and_searchable(api: Api) -> None:
    _, token = await user(api, await api.token())
    session = await open_local(api, token)
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        await term.type(b"cd /tmp && echo hello-log; false\r")
        await term.expect(rb"hello-log")
        await term.type(b"echo second-one\r")
        await term.expect(rb"second-one\r\n")
        await term.pump(0.5)
    with anyio.fail_after(10):
        while True:
            found = (
                await api.call("GET", "/terminal/commands", token, params={"q": "hello-log"})
            ).json()
            if found["items"]:
                break
            await anyio.sleep(0.1)
    command = found["items"][0]
    assert command["command"] == "cd /tmp && echo hello-log; false"
    assert command["exit_code"] == 1 and "hello-log" in command["output"]
    assert command["session_id"] == session["id"] and command["host"] == "local"
    failed = await api.call("GET", "/terminal/commands", token, params={"exit_code": 1})
    assert [c["command"] for c in failed.json()["items"]] == [command["command"]]
    _, other = await user(api, await api.token())
    assert (await api.call("GET", "/terminal/commands", other)).json()["items"] == []
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_bad_requests(api: Api) -> None:
    _, token = await user(api, await api.token())
    for body in (
        {"target": {"type": "local", "shell": "/usr/bin/python3"}},
        {"target": {"type": "telnet"}},
        {"target": {"type": "local"}, "cols": 0},
        {"target": {"type": "ssh", "host": "bad host!", "username": "x"}},
        {"target": {"type": "ssh", "host": ".slYRf", "username": "x", "password": "p"}},
        {"target": {"type": "ssh", "host": "a..b", "username": "x", "password": "p"}},
        {"target": {"type": "ssh", "host": "x" * 64 + ".org", "username": "x", "password": "p"}},
    ):
        response = await api.call("POST", "/terminal/sessions", token, json=body)
        assert response.status_code == 422, (body, response.text)


async def test_fuzzed_frames_end_in_close_codes_never_a_crash(api: Api) -> None:
    _, token = await user(api, await api.token())
    session = await open_local(api, token)
    base = str(api.http.base_url).rstrip("/").replace("http://", "ws://")
    codes: set[int] = set()

    async def send(frames_: list[bytes], text: bool) -> None:
        granted = await ticket(api, token, session["id"], "observer")
        url = f"{base}{granted['ws_path']}?ticket={granted['ticket']}"
        async with connect(url, max_size=None) as ws:
            try:
                for frame in frames_:
                    await ws.send(frame.decode("latin-1") if text else frame)
                with anyio.move_on_after(0.2):
                    while True:
                        await ws.recv()
            except ConnectionClosed as exc:
                assert exc.rcvd is not None and exc.rcvd.code in (1003, 1009), exc
                codes.add(exc.rcvd.code)

    frame = st.one_of(
        st.binary(max_size=64),
        st.tuples(st.integers(0, 4), st.binary(max_size=64)).map(lambda t: bytes([t[0]]) + t[1]),
    )

    @settings(max_examples=25, deadline=None)
    @given(st.lists(frame, max_size=6), st.booleans())
    def check(frames_: list[bytes], text: bool) -> None:
        anyio.from_thread.run(send, frames_, text)

    await anyio.to_thread.run_sync(check)
    assert (await api.http.get("/health")).status_code == 200
    async with attached(api, token, session["id"]) as term:  # the shell is unharmed
        await term.type(b"echo still-$((3*3))\r")
        await term.expect(rb"still-9")
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_foreign_origins_are_refused(api: Api) -> None:
    _, token = await user(api, await api.token())
    session = await open_local(api, token)
    granted = await ticket(api, token, session["id"])
    base = str(api.http.base_url).rstrip("/").replace("http://", "ws://")
    url = f"{base}{granted['ws_path']}?ticket={granted['ticket']}"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, origin=Origin("http://evil.example")):
            pass
    assert refused.value.response.status_code == 403
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_ended_sessions_and_old_commands_are_purged(api: Api) -> None:
    admin = await api.token()
    _, token = await user(api, admin)
    session = await open_local(api, token)
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        await term.type(b"echo purge-me\r")
        await term.expect(rb"purge-me\r\n")
        await term.type(b"exit\r")
        await term.status("exit")
    one = f"/terminal/sessions/{session['id']}"
    with anyio.fail_after(10):
        while not (await api.call("GET", "/terminal/commands", token)).json()["items"]:
            await anyio.sleep(0.1)
    assert (await api.call("POST", "/admin/terminal/purge", token, json={})).status_code == 403
    kept = await api.call("POST", "/admin/terminal/purge", admin, json={})
    assert kept.status_code == 200
    assert (await api.call("GET", one, token)).status_code == 200  # within the retention
    purged = await api.call(
        "POST",
        "/admin/terminal/purge",
        admin,
        json={"sessions_older_than_days": 0, "commands_older_than_days": 0},
    )
    assert purged.json()["sessions"] >= 1 and purged.json()["commands"] >= 1
    assert (await api.call("GET", one, token)).status_code == 404
    assert (await api.call("GET", f"{one}/recording", token)).status_code == 404
    assert (await api.call("GET", "/terminal/commands", token)).json()["items"] == []


async def test_a_question_from_the_terminal_is_answered_to_that_viewer_only(api: Api) -> None:
    admin = await api.token()
    owner, token = await user(api, admin)
    fact = b"The nightly backup of the wiki runs at 02:30 and keeps fourteen copies."
    document = (await upload(api, token, fact, "backup.txt")).json()
    await ready(api, token, document["id"])
    session = await open_local(api, token)
    await api.call(
        "PATCH", f"/terminal/sessions/{session['id']}", token, json={"shared_with": [owner["id"]]}
    )
    async with (
        attached(api, token, session["id"]) as driver,
        attached(api, token, session["id"], role="observer") as observer,
    ):
        await driver.status("replay-end")
        await driver.type(b"ls /nonexistent-dir\r")
        await driver.expect(rb"No such file")
        await driver.pump(0.5)  # the command is logged once its prompt is back
        await driver.ws.send(frames.query_frame("How many copies does the wiki backup keep?", True))
        answer = await driver.status("answer", seconds=20)
        assert answer["mode"] == "extractive" and "fourteen copies" in answer["answer"]
        assert answer["sources"][0]["document_id"] == document["id"]
        assert "Sources:" in answer["text"]
        await observer.pump(0.5)
        assert all(s.get("type") != "answer" for s in observer.statuses)
        assert b"wiki backup" not in driver.output  # nothing was typed into the shell
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_opted_in_command_logs_become_redacted_knowledge(api: Api) -> None:
    _, token = await user(api, await api.token())
    secret = "Zq8vK2mP9xR4tW7yB3nD6fH1jL5sA0cE"
    plain = await open_local(api, token)
    learning = await open_local(api, token, index_commands=True)
    for session in (plain, learning):
        async with attached(api, token, session["id"]) as term:
            await term.status("replay-end")
            typed = f"export DEPLOY_TOKEN={secret}; echo release-42 went to the orchard cluster"
            await term.type(typed.encode() + b"\r")
            await term.expect(rb"release-42 went")
            await term.pump(0.5)
    with anyio.fail_after(30):
        while True:
            docs = (await api.call("GET", "/documents", token)).json()["items"]
            if docs and all(d["status"] == "ready" for d in docs):
                break
            await anyio.sleep(0.2)
    assert len(docs) == 1  # only the session that opted in
    assert docs[0]["title"].startswith("$ export DEPLOY_TOKEN=[REDACTED]")
    chunks = (await api.call("GET", f"/documents/{docs[0]['id']}/chunks", token)).json()
    text = " ".join(c["text"] for c in chunks["items"])
    assert secret not in text and "orchard cluster" in text and "Exit code: 0" in text
    answer = await api.call(
        "POST", "/rag/query", token, json={"question": "Which cluster did release-42 go to?"}
    )
    source = answer.json()["sources"][0]
    assert source["document_id"] == docs[0]["id"]
    assert source["link"].startswith(f"/api/v1/terminal/sessions/{learning['id']}/recording?t=")
    for session in (plain, learning):
        await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_session_limits_per_user(tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = app_settings(tmp_path_factory.mktemp("limits"), AISS_TERMINAL_MAX_PER_USER="2")
    async with serving(create_app(settings)) as http:
        limited = Api(http)
        _, token = await user(limited, await limited.token())
        _, other = await user(limited, await limited.token())
        first, second = await open_local(limited, token), await open_local(limited, token)
        refused = await limited.call(
            "POST", "/terminal/sessions", token, json={"target": {"type": "local"}}
        )
        assert refused.status_code == 429 and "2 terminal sessions" in refused.json()["message"]
        await open_local(limited, other)  # a limit per user, not for everyone
        await limited.call("DELETE", f"/terminal/sessions/{first['id']}", token)
        await open_local(limited, token)  # room again
        assert second["id"]
