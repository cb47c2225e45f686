"""Between a WebSocket and a session: two tasks, and the first to finish ends the other.

The inbound task never waits on the program or the socket's sending side: input
is queued by the session, and every frame for this viewer (errors and answers
included) is sent by the session's sender for it, so acknowledgements are read
however slowly the program takes input or the peer takes output.

Input is drained with `receive()` and the disconnect message handled here:
after a failed send Starlette would drop frames still queued, and input typed
just before a detach must reach the shell. A frame that breaks the protocol
closes the socket with its code (1003, or 1009 for one too large).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
from starlette.websockets import WebSocketDisconnect, WebSocketState

from . import frames
from .session import Viewer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.websockets import WebSocket

    from .session import Role, TerminalSession

logger = logging.getLogger("aiss.terminal")
MAX_QUESTIONS = 2  # per viewer: each is a retrieval and maybe an LLM call


async def bridge(
    websocket: WebSocket,
    session: TerminalSession,
    user_id: str,
    role: Role,
    on_query: Callable[[str, bool], Awaitable[dict[str, Any]]] | None = None,
) -> None:
    """Serve one viewer; `on_query` answers QUERY frames (to this viewer only)."""
    closing: list[int] = []

    async def send(frame: bytes) -> None:
        if websocket.application_state is WebSocketState.CONNECTED:
            await websocket.send_bytes(frame)

    viewer = Viewer(user_id, role, send)
    asking = 0  # questions of this viewer being answered now

    async def outbound(scope: anyio.CancelScope) -> None:
        try:
            await session.attach(viewer)
        except Exception:  # the peer went away while we sent: the inbound side notices
            viewer.closed = True
            return
        closing.append(1000)
        scope.cancel()  # the session ended and its viewer has been told

    async def answer(question: str, attach: bool) -> None:
        nonlocal asking
        try:
            if on_query is None:
                found: dict[str, Any] = {"error": "questions are not answered here"}
            else:
                found = await on_query(question, attach)
        finally:
            asking -= 1
        viewer.notify(frames.status(type="answer", **found))

    async def inbound(scope: anyio.CancelScope, tg: anyio.abc.TaskGroup) -> None:
        nonlocal asking
        told: set[str] = set()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes")
            if data is None:
                closing.append(1003)  # text frames are not part of the protocol
                break
            # Keystrokes and counts, most of what comes, skip building a frame.
            if len(data) == 5 and data[0] == frames.COUNT:
                session.ack(viewer, int.from_bytes(data[1:], "big"))
                continue
            try:
                frame = frames.decode(data)
            except frames.FrameError as exc:
                closing.append(exc.code)
                break
            if isinstance(frame, frames.Input):
                refused = session.type(viewer, frame.data)
                if refused is not None and refused not in told:
                    if not refused.startswith("input dropped"):  # each drop is told
                        told.add(refused)
                    viewer.notify(frames.status(type="error", message=refused))
            elif isinstance(frame, frames.Resize):
                session.resize(viewer, frame.cols, frame.rows)
            elif isinstance(frame, frames.Ack):
                session.ack(viewer, frame.bytes)
            elif isinstance(frame, frames.Query):
                if asking >= MAX_QUESTIONS:
                    busy = f"at most {MAX_QUESTIONS} questions at a time: wait for an answer"
                    viewer.notify(frames.status(type="answer", error=busy))
                    continue
                asking += 1
                tg.start_soon(answer, frame.question, frame.attach_last_command)
        viewer.closed = True
        viewer.nudge()
        scope.cancel()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(outbound, tg.cancel_scope)
            tg.start_soon(inbound, tg.cancel_scope, tg)
    finally:
        viewer.closed = True
        if websocket.application_state is WebSocketState.CONNECTED:
            # The peer may be gone by now without the socket knowing yet.
            with (
                anyio.CancelScope(shield=True),
                anyio.move_on_after(2),
                contextlib.suppress(WebSocketDisconnect),
            ):
                await websocket.close(closing[0] if closing else 1000)
