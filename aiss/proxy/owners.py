"""Where a terminal session runs: its owner's address, checked against the known roles."""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import anyio
import httpx

if TYPE_CHECKING:
    from collections.abc import Sequence

RESOLVE_SECONDS = 10.0
OWNER_SECONDS = 60.0
OWNER_CACHE = 10_000


class Owners:
    """Addresses of the processes that run terminal sessions.

    A session's owner is named by the session record (REST) or by its ticket
    (WebSocket); either name is only followed when it resolves to an address
    of one of the terminal roles, so a forged one cannot point the gateway
    anywhere else.
    """

    def __init__(
        self, client: httpx.AsyncClient, default: str, terminal_urls: Sequence[str]
    ) -> None:
        self.client = client
        self.default = default
        self.scheme = urlsplit(default).scheme
        self.roles = [urlsplit(url) for url in terminal_urls]
        self._allowed: tuple[float, set[tuple[str, int]]] = (0.0, set())
        self._owners: dict[str, tuple[float, str]] = {}

    async def base_for_node(self, node: str) -> str:
        """The base URL of `node` ("host:port") when it is a terminal role, else the default."""
        host, _, port = node.rpartition(":")
        if host and port.isdigit() and await self._is_terminal_role(host, int(port)):
            return f"{self.scheme}://{node}"
        return self.default

    async def base_for_session(self, session_id: str, authorization: str) -> str:
        """The owner of `session_id`, read with the caller's own credential, or the default."""
        now = time.monotonic()
        cached = self._owners.get(session_id)
        if cached and cached[0] > now:
            return cached[1]
        try:
            response = await self.client.get(
                f"{self.default}/api/v1/terminal/sessions/{session_id}",
                headers={"Authorization": authorization} if authorization else {},
            )
        except httpx.HTTPError:
            return self.default
        if response.status_code != 200:
            return self.default  # the default role gives the caller the same answer
        base = await self.base_for_node(str(response.json().get("node", "")))
        if len(self._owners) >= OWNER_CACHE:
            self._owners.clear()
        self._owners[session_id] = (now + OWNER_SECONDS, base)
        return base

    async def _is_terminal_role(self, host: str, port: int) -> bool:
        allowed = await self._addresses()
        return any((address, port) in allowed for address in await _resolve(host))

    async def _addresses(self) -> set[tuple[str, int]]:
        expires, allowed = self._allowed
        if expires > time.monotonic():
            return allowed
        allowed = set()
        for url in self.roles:
            port = url.port or (443 if url.scheme == "https" else 80)
            allowed |= {(address, port) for address in await _resolve(url.hostname or "")}
        self._allowed = (time.monotonic() + RESOLVE_SECONDS, allowed)
        return allowed


async def _resolve(host: str) -> set[str]:
    """Every address of `host` (all replicas of a scaled service), or none."""
    try:
        infos = await anyio.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return set()
    return {str(info[4][0]) for info in infos}
