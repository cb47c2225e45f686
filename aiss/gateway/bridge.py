"""Between an SSH channel and a session, with the query escape.

Typing Ctrl-] then `?` asks a question instead of typing into the shell: the
gateway reads the question on this viewer's screen, asks whether to attach
the last command and its output, and writes the answer to this viewer only.
Ctrl-] followed by anything else passes both keys through.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import anyio
import asyncssh

from terminal import frames
from terminal.session import Viewer

from ..terminals.query import ask

if TYPE_CHECKING:
    from collections.abc import Callable

    from terminal.commands import Command
    from terminal.session import Role, TerminalSession

    from ..rag.answer import Answerer
    from ..users.views import Principal

ESCAPE = 0x1D  # Ctrl-]


async def ssh_bridge(
    process: asyncssh.SSHServerProcess[bytes],
    session: TerminalSession,
    principal: Principal,
    role: Role,
    answerer: Answerer | None,
    last: Callable[[], Command | None],
) -> int | None:
    """Run until the session ends (its exit code) or the client goes (None: detached)."""
    exit_code: list[int] = []

    async def send(frame: bytes) -> None:
        kind, payload = frame[0], frame[1:]
        if kind == frames.OUTPUT:
            process.stdout.write(payload)
            await process.stdout.drain()  # the SSH window is this viewer's flow control
            session.ack(viewer, len(payload))
        elif kind == frames.STATUS:
            status = json.loads(payload)
            if status.get("type") == "exit":
                exit_code.append(int(status.get("code") or 0))
            elif status.get("type") == "error":
                process.stderr.write(f"\r\n[aiss] {status.get('message')}\r\n".encode())

    viewer = Viewer(principal.user_id, role, send)
    reader = _Keys(process)

    async def outbound(scope: anyio.CancelScope) -> None:
        try:
            await session.attach(viewer)
        except (OSError, asyncssh.Error):
            viewer.closed = True
        scope.cancel()

    async def inbound(scope: anyio.CancelScope) -> None:
        while True:
            data = await reader.read()
            if data is None:
                break
            if isinstance(data, tuple):
                session.resize(viewer, *data)
                continue
            cut = data.find(bytes([ESCAPE]))
            if cut < 0:
                await _type(session, viewer, process, data)
                continue
            await _type(session, viewer, process, data[:cut])
            following = data[cut + 1 :] or await reader.byte()
            if following[:1] == b"?":
                await _query(process, reader, answerer, principal, last())
                rest = following[1:]
            else:
                rest = bytes([ESCAPE]) + following
            await _type(session, viewer, process, rest)
        viewer.closed = True
        viewer.nudge()
        scope.cancel()

    async with anyio.create_task_group() as tg:
        tg.start_soon(outbound, tg.cancel_scope)
        tg.start_soon(inbound, tg.cancel_scope)
    return exit_code[0] if exit_code else None


class _Keys:
    """Reads from the client: bytes, a (cols, rows) resize, or None at the end."""

    def __init__(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        self.process = process

    async def read(self) -> bytes | tuple[int, int] | None:
        try:
            data = await self.process.stdin.read(65536)
        except asyncssh.TerminalSizeChanged as change:
            return (change.width, change.height)
        except (asyncssh.BreakReceived, asyncssh.SignalReceived):
            return b""
        except (OSError, asyncssh.Error):
            return None
        return data or None

    async def byte(self) -> bytes:
        while True:
            data = await self.read()
            if data is None:
                return b""
            if isinstance(data, bytes) and data:
                return data


async def _type(
    session: TerminalSession, viewer: Viewer, process: asyncssh.SSHServerProcess[bytes], data: bytes
) -> None:
    if not data:
        return
    await session.input_room(len(data))  # the SSH window holds the client back meanwhile
    refused = session.type(viewer, data)
    if refused is not None:
        process.stderr.write(f"\r\n[aiss] {refused}\r\n".encode())


async def _query(
    process: asyncssh.SSHServerProcess[bytes],
    reader: _Keys,
    answerer: Answerer | None,
    principal: Principal,
    last: Command | None,
) -> None:
    out = process.stdout
    out.write(b"\r\n[aiss] ask: ")
    question = await _line(process, reader)
    if not question.strip():
        out.write(b"\r\n")
        return
    attach = None
    if last is not None:
        out.write(
            f"[aiss] attach your last command ({last.command[:60]}) and its output? [y/N] ".encode()
        )
        answer = await reader.byte()
        out.write(answer[:1] + b"\r\n")
        attach = last if answer[:1] in (b"y", b"Y") else None
    out.write(b"[aiss] thinking...\r\n")
    result = await ask(answerer, principal, question, attach)
    out.write(result.screen())


async def _line(process: asyncssh.SSHServerProcess[bytes], reader: _Keys) -> str:
    """A line typed by this viewer, echoed to it alone (backspace works, Ctrl-C cancels)."""
    text = bytearray()
    while True:
        data = await reader.byte()
        if not data:
            return ""
        for value in data:
            if value in (0x0D, 0x0A):
                process.stdout.write(b"\r\n")
                return text.decode("utf-8", "replace")
            if value == 0x03:
                process.stdout.write(b"^C\r\n")
                return ""
            if value in (0x7F, 0x08):
                if text:
                    text.pop()
                    process.stdout.write(b"\b \b")
            elif value >= 0x20:
                text.append(value)
                process.stdout.write(bytes([value]))
