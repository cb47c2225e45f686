"""A terminal client for the tests: the real WebSocket protocol over loopback."""

from __future__ import annotations

import json
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from terminal import frames

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .conftest import Api


@dataclass
class Term:
    ws: ClientConnection
    auto_ack: bool = True
    output: bytearray = field(default_factory=bytearray)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    received: int = 0
    closed: bool = False

    async def pump(self, seconds: float) -> None:
        """Read frames for up to `seconds` (acknowledging output when auto_ack)."""
        with anyio.move_on_after(seconds):
            while not self.closed:
                await self._one()

    async def _one(self) -> None:
        try:
            message = await self.ws.recv()
        except ConnectionClosed:
            self.closed = True
            return
        assert isinstance(message, bytes)
        kind, payload = message[0], message[1:]
        if kind == frames.OUTPUT:
            self.output += payload
            self.received += len(payload)
            if self.auto_ack:
                await self.ws.send(frames.ack_frame(len(payload)))
        elif kind == frames.STATUS:
            self.statuses.append(json.loads(payload))

    async def expect(self, pattern: bytes, seconds: float = 10) -> re.Match[bytes]:
        with anyio.fail_after(seconds):
            while True:
                found = re.search(pattern, bytes(self.output))
                if found:
                    return found
                if self.closed:
                    raise AssertionError(
                        f"closed before {pattern!r}: {bytes(self.output)[-500:]!r}"
                    )
                await self._one()

    async def status(self, kind: str, seconds: float = 10) -> dict[str, Any]:
        with anyio.fail_after(seconds):
            while True:
                for status in self.statuses:
                    if status.get("type") == kind:
                        return status
                if self.closed:
                    raise AssertionError(f"closed before status {kind}: {self.statuses}")
                await self._one()

    async def type(self, data: bytes) -> None:
        await self.ws.send(frames.input_frame(data))

    async def paste(self, data: bytes, frame: int = 64 * 1024) -> None:
        """Input in frames of `frame` bytes, as the web UI sends a large paste."""
        for at in range(0, len(data), frame):
            await self.type(data[at : at + frame])

    def roles(self) -> list[str]:
        """The roles this viewer was told, in order (attached, then changes)."""
        return [s["role"] for s in self.statuses if s.get("type") in ("attached", "role")]

    async def resize(self, cols: int, rows: int) -> None:
        await self.ws.send(frames.resize_frame(cols, rows))

    async def ack(self, count: int) -> None:
        await self.ws.send(frames.ack_frame(count))


async def open_local(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    response = await api.call(
        "POST", "/terminal/sessions", token, json={"target": {"type": "local"}, **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def ticket(api: Api, token: str, session_id: str, role: str = "driver") -> dict[str, Any]:
    response = await api.call(
        "POST", f"/terminal/sessions/{session_id}/ticket", token, json={"role": role}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@asynccontextmanager
async def attached(
    api: Api,
    token: str,
    session_id: str,
    *,
    role: str = "driver",
    auto_ack: bool = True,
    **options: Any,
) -> AsyncIterator[Term]:
    """A viewer of the session; `options` go to the WebSocket client (`max_queue`...)."""
    granted = await ticket(api, token, session_id, role)
    base = str(api.http.base_url).rstrip("/").replace("http://", "ws://")
    url = f"{base}{granted['ws_path']}?ticket={granted['ticket']}"
    async with connect(url, max_size=None, **options) as ws:
        term = Term(ws, auto_ack=auto_ack)
        await term.status("attached")
        yield term
