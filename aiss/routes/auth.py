"""Logins, token refresh and logout under /api/v1/auth."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.routing import Route

from ..api import endpoint
from ..state import app_state, served
from ..users.messages import LoginFinish, LoginStart, Logout, Refresh
from ..users.views import TokenPair

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..users.service import Users

API = "/api/v1"


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


def users(request: Request) -> Users:
    return served(app_state(request).users, "users")


def client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@endpoint(body=Login, responses={200: TokenPair}, errors=[401, 429], tags=["auth"])
async def login(request: Request, body: Login) -> TokenPair:
    """Exchange a username and password for an access and a refresh token.

    An unknown user and a wrong password get the same answer in about the same
    time. Attempts are limited per username and per client address.
    """
    handle = users(request)
    ticket = await handle.ref.ask(LoginStart(body.username, client(request)))
    ok = await handle.passwords.verify(ticket.password_hash or None, body.password)
    return await handle.ref.ask(
        LoginFinish(body.username, ticket.user_id if ok else "", client(request))
    )


@endpoint(body=RefreshIn, responses={200: TokenPair}, errors=[401], tags=["auth"])
async def refresh(request: Request, body: RefreshIn) -> TokenPair:
    """Rotate a refresh token: it stops working, and presenting it again revokes its login."""
    return await users(request).ref.ask(Refresh(body.refresh_token, client(request)))


@endpoint(body=RefreshIn, responses={204: None}, errors=[401], tags=["auth"])
async def logout(request: Request, body: RefreshIn) -> Response:
    """End the login the refresh token belongs to."""
    await users(request).ref.ask(Logout(body.refresh_token, client(request)))
    return Response(status_code=204)


def routes() -> list[Route]:
    return [
        Route(f"{API}/auth/login", login, methods=["POST"]),
        Route(f"{API}/auth/refresh", refresh, methods=["POST"]),
        Route(f"{API}/auth/logout", logout, methods=["POST"]),
    ]
