"""Terminal sessions against slow, dead, racing and hostile clients, on the real server
with real shells on PTYs: nothing a driver is owed is lost, nothing blocks on a bad
socket, and the limits hold under races."""

from __future__ import annotations

import re
import socket
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import pytest

from aiss.app import create_app
from terminal import frames

from ...servers import serving
from ...ssh_servers import PASSWORD, USER, stalling_asyncssh_server
from .conftest import Api, app_settings
from .terminal_client import Term, attached, open_local
from .test_documents import user
from .test_terminal import processes_matching, written_bytes
from .test_terminal_ssh import trust

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.anyio
STARTED = b"\x1b]133;C\x07"  # shell integration: the command's output begins


@pytest.fixture
async def mine(api: Api) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A new user's token and a local session of theirs, ended afterwards."""
    _, token = await user(api, await api.token())
    session = await open_local(api, token)
    yield token, session
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


def narrow(api: Api, receive_buffer: int = 16 * 1024) -> socket.socket:
    """A connection to the server with a small receive buffer: a slow link's, where
    the server's sends wait once little is in flight (loopback's buffers take MiBs)."""
    address = urlsplit(str(api.http.base_url))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)  # before the window
    sock.connect((address.hostname, address.port))
    sock.setblocking(False)
    return sock


async def running(term: Term, command: bytes) -> int:
    """Type `command`; once the shell runs it, where its output begins."""
    await term.status("replay-end")
    seen = len(term.output)
    await term.type(command + b"\r")
    with anyio.fail_after(10):
        while STARTED not in term.output[seen:]:
            await term._one()
    return term.output.index(STARTED, seen) + len(STARTED)


async def answers_next(term: Term) -> None:
    """The shell is there and answers a command."""
    await term.type(b"echo next-$((40+2))\r")
    await term.expect(rb"next-42", seconds=30)


async def test_a_ticket_without_a_body_is_a_driver_ticket(
    api: Api, mine: tuple[str, dict[str, Any]]
) -> None:
    token, session = mine
    path = f"/terminal/sessions/{session['id']}/ticket"
    bare = await api.call("POST", path, token)
    assert bare.status_code == 200, bare.text
    assert bare.json()["role"] == "driver"
    observer = await api.call("POST", path, token, json={"role": "observer"})
    assert observer.status_code == 200 and observer.json()["role"] == "observer"
    wrong = await api.call("POST", path, token, json={"role": "king"})
    assert wrong.status_code == 422


async def test_a_driver_acknowledging_in_count_frames_gets_a_flood_whole(
    api: Api, mine: tuple[str, dict[str, Any]]
) -> None:
    """Count frames are acknowledgements: 4 MB pass a 256 KiB watermark, in order, and
    a count past what was sent (hostile or confused) owes the driver nothing."""
    token, session = mine
    async with attached(api, token, session["id"], auto_ack=False) as term:
        assert term.statuses[0]["count"] is True
        await term.ws.send(frames.count_frame(0xFFFFFFFF))
        start = await running(term, b"seq 1 500000; echo END-$((1+1))")
        searched = start
        with anyio.fail_after(120):
            while b"END-2" not in term.output[searched:]:
                searched = max(start, len(term.output) - 8)
                before = term.received
                await term._one()
                if term.received > before:
                    await term.ws.send(frames.count_frame(term.received - before))
    got = bytes(term.output[start : term.output.rindex(b"END-2")])
    assert got.startswith(b"".join(b"%d\r\n" % n for n in range(1, 500_001)))
    assert not [s for s in term.statuses if s.get("type") == "skipped"]


PASTE_LINES = 16_384  # 64 bytes each: 1 MiB


def paste() -> bytes:
    return b"".join(b"L%06d %s\r" % (n, b"p" * 55) for n in range(PASTE_LINES))


@pytest.mark.parametrize(
    ("command", "copies"),
    [
        # Raw mode: head takes the bytes as they come; the echo is all that shows.
        (b"stty -icanon; head -c %d > /dev/null; stty icanon" % len(paste()), 1),
        # Cooked mode: the terminal echoes each line and cat prints it again.
        (b"cat", 2),
    ],
    ids=["head-raw", "cat-cooked"],
)
async def test_a_paste_larger_than_the_terminal_takes_echoes_whole(
    api: Api, mine: tuple[str, dict[str, Any]], command: bytes, copies: int
) -> None:
    """The echo of a 1 MiB paste is output the driver must acknowledge while its
    input is still being written: neither may wait for the other."""
    token, session = mine
    async with attached(api, token, session["id"]) as term:
        start = await running(term, command)
        async with anyio.create_task_group() as tg:
            tg.start_soon(term.paste, paste())  # sent while the output is read and acked
            pattern = rb"L%06d" % (PASTE_LINES - 1)
            with anyio.fail_after(60):
                while len(re.findall(pattern, term.output[start:])) < copies:
                    await term.expect(pattern, seconds=60)
                    await term.pump(0.05)
        if command == b"cat":
            await term.type(b"\x04")  # end of input: cat exits
        await answers_next(term)
    shown = bytes(term.output[start:])
    assert not [s for s in term.statuses if s.get("type") in ("skipped", "error")], term.statuses
    # The echo and cat's copy interleave at any byte: count the bytes, then the lines.
    assert shown.count(b"p") == copies * 55 * PASTE_LINES
    assert shown.count(b"L") == copies * PASTE_LINES
    numbers = re.findall(rb"L(\d{6})", shown)
    assert sorted(set(numbers)) == [b"%06d" % n for n in range(PASTE_LINES)]


# Loopback's kernel takes some 3-4 MB a socket before a send waits: a server whose
# driver may be owed more than that shows what a slow link does to a watermark of
# 256 KiB, sends that wait while the program goes on writing.
ROOMY_HIGH = 8 << 20


@pytest.fixture(scope="module")
async def roomy(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    settings = app_settings(
        tmp_path_factory.mktemp("roomy"),
        AISS_TERMINAL_HIGH_WATERMARK="8MiB",
        AISS_TERMINAL_LOW_WATERMARK="2MiB",
        AISS_TERMINAL_SCROLLBACK="10MiB",
    )
    async with serving(create_app(settings)) as http:
        yield Api(http)


@pytest.fixture
async def roomy_session(roomy: Api) -> AsyncIterator[tuple[Api, str, str]]:
    _, token = await user(roomy, await roomy.token())
    session = await open_local(roomy, token)
    yield roomy, token, session["id"]
    await roomy.call("DELETE", f"/terminal/sessions/{session['id']}", token)


@pytest.mark.timeout(300)
async def test_a_driver_on_a_slow_link_gets_every_line_and_the_program_waits(
    roomy_session: tuple[Api, str, str],
) -> None:
    """2 MB/s: the server's sends wait on the socket. Whatever it has read but not sent
    counts against the driver, so the ring never runs past it and seq pauses."""
    api, token, session_id = roomy_session
    rate, lines = 2_000_000, 2_500_000
    # The client stops reading its socket with two frames queued: TCP holds the server.
    async with attached(api, token, session_id, max_queue=2, sock=narrow(api)) as term:
        start = await running(term, b"seq 1 %d; echo END-$((1+1))" % lines)
        with anyio.fail_after(10):  # its output may begin before it runs
            while not (seq := processes_matching(f"seq\x001\x00{lines}")):
                await term._one()
        worst = 0
        searched = start  # END-2 may come with the next prompt, in one frame
        with anyio.fail_after(240):  # some 11 s at 2 MB/s; a loaded machine takes longer
            while b"END-2" not in term.output[searched:]:
                searched = max(start, len(term.output) - 8)
                before = term.received
                await term._one()
                await anyio.sleep((term.received - before) / rate)
                try:
                    ahead = written_bytes(seq[0]) - (len(term.output) - start)
                except OSError:  # it has exited
                    continue
                worst = max(worst, ahead)
    expected = b"".join(b"%d\r\n" % n for n in range(1, lines + 1))
    got = bytes(term.output[start : term.output.rindex(b"END-2")])
    assert got.startswith(expected), "a line is missing, doubled or out of order"
    assert not [s for s in term.statuses if s.get("type") == "skipped"]
    # seq ran at most the watermark (and a read and the terminal's buffers) ahead.
    assert 0 < worst <= ROOMY_HIGH + 64 * 1024 + 128 * 1024, worst


@asynccontextmanager
async def stuck_on(api: Api, token: str, session_id: str) -> AsyncIterator[Term]:
    """A driver that reads nothing, its server-side sends waiting on a full socket."""
    async with attached(
        api, token, session_id, max_queue=1, sock=narrow(api, 4096), close_timeout=1
    ) as stuck:
        await stuck.status("replay-end")
        await stuck.type(b"yes filling-the-socket | head -c 16000000; echo FULL-$((3+4))\r")
        # More than the kernel takes for a socket, far less than the watermark.
        with anyio.fail_after(20):
            while not (yes := processes_matching("filling-the-socket")):
                await anyio.sleep(0.05)
            while written_bytes(yes[0]) < 8_000_000:  # the watermark pauses yes at 8 MiB
                await anyio.sleep(0.05)
        yield stuck


async def take_over(api: Api, token: str, session_id: str) -> None:
    """A new driver attaches, drives at once, gets the output and is answered."""
    with anyio.fail_after(30):
        async with attached(api, token, session_id) as new:
            assert new.roles() == ["driver"]
            await new.expect(rb"FULL-7", seconds=30)
            await answers_next(new)


async def test_a_new_driver_takes_over_from_a_socket_that_does_not_read(
    roomy_session: tuple[Api, str, str],
) -> None:
    """The old driver's socket is full (it never reads): the takeover, the new
    driver's output and its typing wait for nothing of the old one's."""
    api, token, session_id = roomy_session
    async with stuck_on(api, token, session_id):
        await take_over(api, token, session_id)


async def test_a_new_driver_takes_over_from_a_dead_socket(
    roomy_session: tuple[Api, str, str],
) -> None:
    """The old driver's link dies (reset) while the server waits to send it more."""
    api, token, session_id = roomy_session
    async with stuck_on(api, token, session_id) as stuck:
        stuck.ws.transport.abort()  # gone without a close frame
        await take_over(api, token, session_id)


async def test_two_tabs_attaching_as_driver_at_once_make_one_driver(
    api: Api, mine: tuple[str, dict[str, Any]]
) -> None:
    """Both take over from the driver there, in the same instant: one of them drives."""
    token, session = mine
    async with attached(api, token, session["id"]) as first_driver:
        await first_driver.status("replay-end")
        async with AsyncExitStack() as stack:
            joined: list[Term] = []

            async def join() -> None:
                joined.append(await stack.enter_async_context(attached(api, token, session["id"])))

            async with anyio.create_task_group() as tg:  # both handshakes at once
                tg.start_soon(join)
                tg.start_soon(join)
            tabs = (first_driver, *joined)
            for tab in tabs:
                await tab.status("replay-end")
            for n, tab in enumerate(tabs):
                await tab.type(b"echo who-%d-$((1+1))\r" % n)
            for tab in tabs:
                await tab.pump(0.5)
            finals = [tab.roles()[-1] for tab in tabs]
            assert sorted(finals) == ["driver", "observer", "observer"], [t.roles() for t in tabs]
            assert finals[0] == "observer"  # the first one was taken over
            driver = tabs[finals.index("driver")]
            said = b"who-%d-2" % tabs.index(driver)
            for tab in tabs:
                await tab.expect(said)  # everyone sees what the driver typed
                others = [b"who-%d-2" % n for n in range(3) if tabs[n] is not driver]
                assert not any(o in tab.output for o in others)
                if tab is not driver:
                    assert (await tab.status("error"))["message"].startswith("read-only")


@pytest.fixture(scope="module")
async def strict(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    """A server allowing three sessions a user, each given 2 s to connect."""
    settings = app_settings(
        tmp_path_factory.mktemp("strict"),
        AISS_TERMINAL_MAX_PER_USER="3",
        AISS_TERMINAL_CONNECT_TIMEOUT="2s",
    )
    async with serving(create_app(settings)) as http:
        yield Api(http)


async def test_an_ssh_host_that_never_gives_a_shell_is_a_clear_error(strict: Api) -> None:
    """It logs in, then never opens a session: the open fails at its deadline, and
    holds no place among the user's sessions."""
    _, token = await user(strict, await strict.token())
    async with stalling_asyncssh_server() as server:
        await trust(strict, token, server)
        target = {"type": "ssh", "host": "127.0.0.1", "port": server.port}
        with anyio.fail_after(10):
            refused = await strict.call(
                "POST",
                "/terminal/sessions",
                token,
                json={"target": {**target, "username": USER, "password": PASSWORD}},
            )
    assert refused.status_code == 400, refused.text
    assert "gave no shell within 2 s" in refused.json()["message"]
    opened = [await open_local(strict, token) for _ in range(3)]  # all three places free
    for session in opened:
        await strict.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_concurrent_opens_never_pass_the_per_user_limit(strict: Api) -> None:
    _, token = await user(strict, await strict.token())
    statuses: list[int] = []

    async def one() -> None:
        response = await strict.call(
            "POST", "/terminal/sessions", token, json={"target": {"type": "local"}}
        )
        statuses.append(response.status_code)

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(one)
    assert sorted(statuses) == [201] * 3 + [429] * 9, statuses
    listed = (await strict.call("GET", "/terminal/sessions?limit=50", token)).json()
    running = [s for s in listed["items"] if s["status"] not in ("failed", "closed")]
    assert len(running) == 3
    for session in running:
        await strict.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_a_replay_drops_the_answers_it_caused_and_no_typed_key(
    api: Api, mine: tuple[str, dict[str, Any]]
) -> None:
    """Shift+F3 is ESC[1;2R, a cursor report's bytes: after a replay that asked for
    one cursor report, the first report is the emulator's and the second is a key."""
    token, session = mine
    async with attached(api, token, session["id"]) as first:
        await running(first, b"printf 'asked\\033[6n\\n'; cat -v")
        await first.expect(rb"asked")
    async with attached(api, token, session["id"]) as again:
        await again.status("replay-end")
        await again.type(b"\x1b[24;1R" + b"\x1b[1;2R" + b"key\r")  # the answer, then the key
        await again.expect(rb"\^\[\[1;2Rkey\r\n(?:.*\r\n)?\^\[\[1;2Rkey", seconds=10)
        assert b"24;1R" not in again.output
        await again.type(b"\x04")
        await answers_next(again)


async def test_questions_are_answered_at_most_two_at_a_time(
    api: Api, mine: tuple[str, dict[str, Any]]
) -> None:
    token, session = mine
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        for n in range(10):
            await term.ws.send(frames.query_frame(f"what is question {n}?", False))
        with anyio.fail_after(60):
            while len([s for s in term.statuses if s.get("type") == "answer"]) < 10:
                await term._one()
        answers = [s for s in term.statuses if s.get("type") == "answer"]
        busy = [a for a in answers if "at most 2 questions" in str(a.get("error"))]
        assert 1 <= len(busy) <= 8, answers
        await answers_next(term)
