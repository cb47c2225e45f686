"""The gateway's reverse proxy: HTTP (streamed both ways, SSE included) and WebSockets."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Origin

from ..errors import NotFound, ServiceUnavailable, error_response
from ..origins import origin_allowed
from .table import role_for, session_of

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope, Send
    from websockets.asyncio.client import ClientConnection

    from .owners import Owners

logger = logging.getLogger("aiss.proxy")

# Headers that describe one hop, never forwarded (RFC 9110 section 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
WS_MAX_FRAME = 4 * 1024 * 1024


class Proxy:
    """Forwards each request to the role that serves its path (`table.ROUTES`).

    Requests about one terminal session go to the process running it.
    """

    def __init__(
        self,
        upstreams: dict[str, str],
        client: httpx.AsyncClient,
        owners: Owners,
        origins: tuple[str, ...],
    ) -> None:
        self.upstreams = upstreams
        self.client = client
        self.owners = owners
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(WebSocket(scope, receive, send))
        else:
            await self._http(Request(scope, receive), send)

    async def _base(self, path: str, authorization: str) -> tuple[str, str]:
        role = role_for(path)
        if role is None:
            raise NotFound(f"no route {path}")
        session_id = session_of(path)
        if session_id is not None:
            return role, await self.owners.base_for_session(session_id, authorization)
        return role, self.upstreams[role]

    # -- HTTP --------------------------------------------------------------------------

    async def _http(self, request: Request, send: Send) -> None:
        try:
            role, base = await self._base(
                request.url.path, request.headers.get("authorization", "")
            )
            response = await self._open(request, base, role)
        except (NotFound, ServiceUnavailable) as exc:
            error = error_response(exc)
            reply = JSONResponse(error.body, status_code=error.status, headers=error.headers)
            await reply(request.scope, request.receive, send)
            return
        try:
            # The gateway answers CORS itself; the role's own headers would double them.
            headers = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in response.headers.multi_items()
                if k not in HOP_BY_HOP and not k.startswith("access-control-")
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": headers}
            )
            async with anyio.create_task_group() as tg:
                # Event streams never end by themselves: stop when the client goes.
                tg.start_soon(_cancel_on_disconnect, request.receive, tg.cancel_scope)
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                tg.cancel_scope.cancel()
        except (httpx.HTTPError, OSError) as exc:
            # Headers are out (or the client left): all that is left is to stop.
            logger.warning("upstream %s broke off: %s", role, type(exc).__name__)
        finally:
            await response.aclose()

    async def _open(self, request: Request, base: str, role: str) -> httpx.Response:
        # uvicorn already resolved the client and scheme from the trusted edge
        # (AISS_FORWARDED_ALLOW_IPS): pass on those, never what a client claims.
        headers = [
            (k, v)
            for k, v in request.headers.items()
            if k not in HOP_BY_HOP and k not in ("x-forwarded-for", "x-forwarded-proto")
        ]
        if request.client is not None:
            headers.append(("x-forwarded-for", request.client.host))
        headers.append(("x-forwarded-proto", request.url.scheme))
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        outgoing = self.client.build_request(
            request.method, url, headers=headers, content=request.stream() if has_body else None
        )
        try:
            return await self.client.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"the {role} role cannot be reached ({type(exc).__name__}); try again shortly"
            ) from None

    # -- WebSocket ---------------------------------------------------------------------

    async def _websocket(self, websocket: WebSocket) -> None:
        path = websocket.url.path
        role = role_for(path)
        origin = websocket.headers.get("origin")
        host = websocket.headers.get("host", "")
        if role is None or not origin_allowed(origin, host, self.origins):
            await websocket.close(1008)
            return
        # A ticket names the process that issued it: <host>_<port>_<secret>.
        ticket = parse_qs(websocket.url.query).get("ticket", [""])[0]
        owner_host, _, rest = ticket.partition("_")
        owner_port = rest.partition("_")[0]
        base = (
            await self.owners.base_for_node(f"{owner_host}:{owner_port}")
            if owner_port
            else self.upstreams[role]
        )
        url = base.replace("http", "ws", 1) + path
        if websocket.url.query:
            url += f"?{websocket.url.query}"
        headers = {"X-Forwarded-Proto": websocket.url.scheme.replace("ws", "http", 1)}
        if websocket.client is not None:
            headers["X-Forwarded-For"] = websocket.client.host
        try:
            upstream = await connect(
                url,
                # Checked above against the public host; the owner sees its own.
                origin=Origin(base) if origin else None,
                subprotocols=websocket.scope.get("subprotocols") or None,
                additional_headers=headers,
                max_size=WS_MAX_FRAME,
                compression=None,
                ping_interval=None,  # each side of the proxy keeps its own link alive
                open_timeout=10,
            )
        except InvalidStatus as exc:
            # The owner refused the handshake (foreign Origin, say): refuse alike.
            logger.info("terminal stream refused upstream: %s", exc.response.status_code)
            await websocket.close(1008)
            return
        except (OSError, InvalidHandshake, TimeoutError):
            await websocket.close(1013)
            return
        async with upstream:
            await websocket.accept(subprotocol=upstream.subprotocol)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_to_upstream, websocket, upstream, tg.cancel_scope)
                await _to_client(websocket, upstream)
                tg.cancel_scope.cancel()


async def _to_upstream(
    websocket: WebSocket, upstream: ClientConnection, scope: anyio.CancelScope
) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                code = message.get("code", 1000)
                await upstream.close(code if code not in (1005, 1006) else 1000)
                break
            data = message.get("bytes")
            await upstream.send(data if data is not None else message.get("text", ""))
    except ConnectionClosed:
        pass
    scope.cancel()


async def _to_client(websocket: WebSocket, upstream: ClientConnection) -> None:
    try:
        async for data in upstream:
            if isinstance(data, bytes):
                await websocket.send_bytes(data)
            else:
                await websocket.send_text(data)
        code = upstream.close_code or 1000
        reason = upstream.close_reason or ""
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else 1011
        reason = exc.rcvd.reason if exc.rcvd else ""
    except (WebSocketDisconnect, OSError):
        return
    # 1005/1006 only describe what happened; they may not be sent.
    await websocket.close(code if code not in (1005, 1006) else 1011, reason)


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return
