"""Session rules with a scripted program: idle and lifetime limits, and backpressure."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from actors import DynamicSupervisor, running
from terminal import frames
from terminal.session import Policy, TerminalSession, Viewer

pytestmark = pytest.mark.anyio


class Flood:
    """A program that prints forever (or stays silent), counting what it wrote."""

    def __init__(self, chunk: bytes = b"y\n" * 2048) -> None:
        self.chunk = chunk
        self.written = 0
        self.done = anyio.Event()

    async def read(self) -> bytes:
        if not self.chunk:
            await self.done.wait()
            return b""
        await anyio.lowlevel.checkpoint()
        self.written += len(self.chunk)
        return self.chunk

    async def write(self, data: bytes) -> None:
        return None

    def write_nowait(self, data: bytes) -> int:
        return len(data)

    def resize(self, cols: int, rows: int) -> None:
        return None

    def echo_off(self) -> bool:
        return False

    def output_pending(self) -> bool:
        return False

    def echoes(self) -> bool:
        return False

    async def wait(self) -> int:
        await self.done.wait()
        return 0

    async def terminate(self) -> None:
        self.done.set()


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (Policy(idle_timeout=0.2, max_lifetime=60), "idle timeout"),
        (Policy(idle_timeout=60, max_lifetime=0.3), "maximum lifetime reached"),
    ],
)
async def test_sessions_end_when_idle_or_too_old(policy: Policy, reason: str) -> None:
    program = Flood(b"")

    async def opener() -> Flood:
        return program

    session = TerminalSession("s", "u", opener, cols=80, rows=24, policy=policy)
    supervisor = DynamicSupervisor("sessions", [])
    async with running(supervisor):
        await supervisor.start_child(session)
        with anyio.fail_after(10):
            await session.ended.wait()
    assert session.error == reason and session.state == "closed"


async def test_a_driver_that_does_not_ack_pauses_the_program() -> None:
    program = Flood()

    async def opener() -> Flood:
        return program

    policy = Policy(scrollback=1 << 20, high_watermark=64 * 1024, low_watermark=16 * 1024)
    session = TerminalSession("s", "u", opener, cols=80, rows=24, policy=policy)
    sent: list[bytes] = []

    async def send(frame: bytes) -> None:
        sent.append(frame)

    driver = Viewer("u", "driver", send)
    supervisor = DynamicSupervisor("sessions", [])
    async with running(supervisor), anyio.create_task_group() as tg:
        await supervisor.start_child(session)
        tg.start_soon(session.attach, driver)
        with anyio.fail_after(10):  # not read any more: the program blocks
            paused_at = -1
            while program.written != paused_at:
                paused_at = program.written
                await anyio.sleep(0.3)
        assert driver.unacked <= policy.high_watermark
        # Paused on what the driver has not acknowledged, not on what was sent it.
        assert paused_at <= policy.high_watermark + 2 * len(program.chunk)
        session.ack(driver, driver.unacked)
        with anyio.fail_after(5):  # acknowledged: it runs again
            while program.written == paused_at:
                await anyio.sleep(0.05)
        session.request_stop()
        with anyio.fail_after(5):
            await session.ended.wait()
        driver.closed = True
        driver.nudge()


class Never:
    """An opener that never opens (an SSH host that never answers)."""

    def __init__(self) -> None:
        self.cancelled = False

    async def __call__(self) -> Flood:
        try:
            await anyio.sleep_forever()
        finally:
            self.cancelled = True
        raise AssertionError("unreachable")


async def test_a_session_that_never_connects_fails_at_its_deadline() -> None:
    opener = Never()
    session = TerminalSession(
        "s", "u", opener, cols=80, rows=24, policy=Policy(connect_timeout=0.3)
    )
    async with running(DynamicSupervisor("sessions", [])) as supervisor:
        await supervisor.start_child(session)
        with anyio.fail_after(5):
            await session.ended.wait()
    assert session.state == "failed" and opener.cancelled
    assert session.error == "not connected within 0.3 seconds"


async def test_ending_a_session_while_it_connects_ends_it_at_once() -> None:
    opener = Never()
    session = TerminalSession("s", "u", opener, cols=80, rows=24, policy=Policy())
    async with running(DynamicSupervisor("sessions", [])) as supervisor:
        await supervisor.start_child(session)
        assert session.state == "connecting"
        session.request_stop()
        with anyio.fail_after(1):
            await session.ended.wait()
    assert session.state == "failed" and session.error == "ended while connecting"


async def test_a_session_cancelled_while_it_connects_is_failed_not_connecting() -> None:
    """Its supervisor gave up waiting (shutdown): the state still says it ended."""
    states: list[str] = []

    async def on_state(_: TerminalSession, state: str) -> None:
        await anyio.lowlevel.checkpoint()  # an update that awaits, like the database's
        states.append(state)

    session = TerminalSession(
        "s", "u", Never(), cols=80, rows=24, policy=Policy(), on_state=on_state
    )
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            await tg.start(session.run)
            scope.cancel()
    assert session.ended.is_set() and states == ["failed"]


async def test_takeovers_never_wait_on_the_old_drivers_socket() -> None:
    """The driver's socket takes nothing more (a dead or slow link): two tabs take over
    at once; both attach at once, exactly one drives, and its output flows."""
    program = Flood()

    async def opener() -> Flood:
        return program

    session = TerminalSession("s", "u", opener, cols=80, rows=24, policy=Policy())
    stuck = anyio.Event()  # never set
    sent: dict[str, list[bytes]] = {"old": [], "a": [], "b": []}

    def sender(name: str) -> Any:
        async def send(frame: bytes) -> None:
            if name == "old" and len(sent[name]) >= 3:
                await stuck.wait()
            sent[name].append(frame)
            if name != "old" and frame[0] == frames.OUTPUT:
                session.ack(viewers[name], len(frame) - 1)

        return send

    viewers = {name: Viewer("u", "driver", sender(name)) for name in sent}
    async with running(DynamicSupervisor("sessions", [])) as supervisor:
        await supervisor.start_child(session)
        async with anyio.create_task_group() as tg:
            tg.start_soon(session.attach, viewers["old"])
            with anyio.fail_after(5):
                while len(sent["old"]) < 3:
                    await anyio.sleep(0.01)
            tg.start_soon(session.attach, viewers["a"])
            tg.start_soon(session.attach, viewers["b"])
            with anyio.fail_after(5):
                while not all(any(f[0] == frames.OUTPUT for f in sent[n][2:]) for n in ("a", "b")):
                    await anyio.sleep(0.01)
            roles = sorted(v.role for v in viewers.values())
            assert roles == ["driver", "observer", "observer"]
            assert viewers["old"].role == "observer"
            session.request_stop()
            with anyio.fail_after(5):
                await session.ended.wait()
            for viewer in viewers.values():
                viewer.closed = True
                viewer.nudge()
            tg.cancel_scope.cancel()
