"""Browser logins under /api/v1/auth/browser: the refresh token never reaches script.

The access token lives in the page's memory only. The refresh token is an
httpOnly, SameSite=Strict cookie scoped to these paths; refreshing and
logging out also need the `X-CSRF-Token` header to repeat the readable
`aiss_csrf` cookie (double submit), so another site can neither read the
token nor make the browser use it.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

from pydantic import BaseModel
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..api import Credential, endpoint
from ..errors import Forbidden, Unauthorized
from ..users.messages import LoginFinish, LoginStart, Logout, Refresh
from .auth import Login, client, users

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..users.views import TokenPair

API = "/api/v1/auth/browser"
REFRESH = "aiss_refresh"
CSRF = "aiss_csrf"


# What refreshing and logging out check, together: the cookies a browser login set and the
# header that proves the page could read one of them.
SESSION_CREDENTIALS = (
    Credential(
        "browserRefresh",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": REFRESH,
            "description": "The web UI's refresh token: an httpOnly cookie that"
            f" POST {API}/login sets, sent to {API}/* only.",
        },
    ),
    Credential(
        "csrfCookie",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": CSRF,
            "description": f"A readable cookie that POST {API}/login sets beside the refresh"
            " token; the X-CSRF-Token header repeats it.",
        },
    ),
    Credential(
        "csrfHeader",
        {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRF-Token",
            "description": f"The value of the {CSRF} cookie (double submit): another site"
            " can make a browser send the cookies but cannot read them.",
        },
    ),
)


class BrowserSession(BaseModel):
    access_token: str
    expires_in: int
    csrf_token: str


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def _answer(request: Request, pair: TokenPair) -> Response:
    csrf = secrets.token_urlsafe(24)
    body = BrowserSession(
        access_token=pair.access_token, expires_in=pair.expires_in, csrf_token=csrf
    )
    response = JSONResponse(body.model_dump())
    lifetime = int(users(request).tokens.refresh_seconds)
    secure = _secure(request)
    response.set_cookie(
        REFRESH,
        pair.refresh_token,
        max_age=lifetime,
        path=API,
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    response.set_cookie(CSRF, csrf, max_age=lifetime, path="/", secure=secure, samesite="strict")
    return response


def _checked_refresh(request: Request) -> str:
    token = request.cookies.get(REFRESH)
    if not token:
        raise Unauthorized("no browser login: log in again")
    cookie = request.cookies.get(CSRF, "")
    header = request.headers.get("x-csrf-token", "")
    if not cookie or not hmac.compare_digest(cookie, header):
        raise Forbidden("the X-CSRF-Token header must repeat the aiss_csrf cookie")
    return token


@endpoint(body=Login, responses={200: BrowserSession}, errors=[401, 429], tags=["auth"])
async def browser_login(request: Request, body: Login) -> Response:
    """Log in from the web UI: the access token comes back, the refresh token goes in a
    cookie script cannot read."""
    handle = users(request)
    ticket = await handle.ref.ask(LoginStart(body.username, client(request)))
    ok = await handle.passwords.verify(ticket.password_hash or None, body.password)
    pair = await handle.ref.ask(
        LoginFinish(body.username, ticket.user_id if ok else "", client(request))
    )
    return _answer(request, pair)


@endpoint(
    responses={200: BrowserSession},
    errors=[401, 403],
    tags=["auth"],
    credentials=SESSION_CREDENTIALS,
)
async def browser_refresh(request: Request) -> Response:
    """A new access token from the refresh cookie (rotated, with reuse detection)."""
    token = _checked_refresh(request)
    return _answer(request, await users(request).ref.ask(Refresh(token, client(request))))


@endpoint(responses={204: None}, errors=[401, 403], tags=["auth"], credentials=SESSION_CREDENTIALS)
async def browser_logout(request: Request) -> Response:
    """End the browser login and clear its cookies."""
    token = _checked_refresh(request)
    await users(request).ref.ask(Logout(token, client(request)))
    response = Response(status_code=204)
    response.delete_cookie(REFRESH, path=API)
    response.delete_cookie(CSRF, path="/")
    return response


def routes() -> list[Route]:
    return [
        Route(f"{API}/login", browser_login, methods=["POST"]),
        Route(f"{API}/refresh", browser_refresh, methods=["POST"]),
        Route(f"{API}/logout", browser_logout, methods=["POST"]),
    ]
