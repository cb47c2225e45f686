"""Accounts, passwords, permissions, API keys and SSH keys under /api/v1/users."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.routing import Route

from ..api import Paging, endpoint
from ..auth.credentials import parse_ssh_key
from ..auth.passwords import check_strength
from ..errors import BadRequest, Forbidden, NotFound
from ..users import messages as m
from ..users.views import (
    ApiKeyView,
    NewApiKeyView,
    Role,
    SshKeyView,
    UserPage,
    UserView,
)
from .auth import API, client, users

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..users.views import Principal

USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"
EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,255}$"


class NewUser(BaseModel):
    username: str = Field(pattern=USERNAME)
    email: str = Field(pattern=EMAIL, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    role: Role = "user"


class UserChange(BaseModel):
    email: str | None = Field(default=None, pattern=EMAIL, max_length=320)
    role: Role | None = None
    active: bool | None = None


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PermissionIn(BaseModel):
    area_id: str = Field(min_length=1, max_length=128)
    read: bool
    write: bool


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)


class SshKeyIn(BaseModel):
    public_key: str = Field(min_length=1, max_length=16384)
    title: str = Field(default="", max_length=100)


class LookupQuery(BaseModel):
    username: str | None = Field(default=None, min_length=1, max_length=64)
    id: str | None = Field(default=None, pattern=r"^[0-9a-f]{24}$")


class UserRef(BaseModel):
    """Who a user is, as anyone signed in may learn it: to share a terminal session with."""

    id: str
    username: str


class ApiKeyList(BaseModel):
    items: list[ApiKeyView]


class SshKeyList(BaseModel):
    items: list[SshKeyView]


def _id(request: Request) -> str:
    return str(request.path_params["user_id"])


def _item(request: Request) -> str:
    return str(request.path_params["key_id"])


NO_CONTENT = {204: None}


@endpoint(responses={200: UserView}, auth="user", tags=["users"])
async def me(request: Request, principal: Principal) -> UserView:
    """The signed-in user."""
    return await users(request).ref.ask(m.GetUser(principal.user_id))


@endpoint(body=PasswordChange, responses=NO_CONTENT, auth="user", tags=["users"])
async def change_password(request: Request, body: PasswordChange, principal: Principal) -> Response:
    """Change your password; every token issued before stops working."""
    handle = users(request)
    stored = await handle.ref.ask(m.PasswordHash(principal.user_id))
    if not await handle.passwords.verify(stored, body.current_password):
        raise Forbidden("the current password is wrong")
    check_strength(body.new_password, username=principal.username)
    hashed = await handle.passwords.hash(body.new_password)
    await handle.ref.ask(m.SetPassword(principal.user_id, hashed, client(request)))
    return Response(status_code=204)


@endpoint(
    query=LookupQuery, responses={200: UserRef}, errors=[400, 404], auth="user", tags=["users"]
)
async def lookup_user(request: Request, query: LookupQuery, principal: Principal) -> UserRef:
    """An active user's id and username, by one of them (to share a terminal session with).

    Give `username` or `id`; an unknown or deactivated user is 404 either way.
    """
    if (query.username is None) == (query.id is None):
        raise BadRequest("give a username or an id")
    handle = users(request).ref
    try:
        found = await handle.ask(
            m.FindUser(query.username) if query.username is not None else m.GetUser(str(query.id))
        )
    except NotFound:
        found = None
    if found is None or not found.active:
        raise NotFound("no such user")
    return UserRef(id=found.id, username=found.username)


@endpoint(query=Paging, responses={200: UserPage}, auth="admin", tags=["users"])
async def list_users(request: Request, query: Paging, principal: Principal) -> UserPage:
    """All users, by username (administrators)."""
    return await users(request).ref.ask(m.ListUsers(query.offset, query.limit))


@endpoint(body=NewUser, responses={201: UserView}, errors=[409], auth="admin", tags=["users"])
async def create_user(request: Request, body: NewUser, principal: Principal) -> UserView:
    """Create a user (administrators)."""
    check_strength(body.password, username=body.username, email=body.email)
    handle = users(request)
    hashed = await handle.passwords.hash(body.password)
    return await handle.ref.ask(m.CreateUser(body.username, body.email, hashed, body.role))


@endpoint(responses={200: UserView}, errors=[404], auth="admin", tags=["users"])
async def get_user(request: Request, principal: Principal) -> UserView:
    """One user (administrators)."""
    return await users(request).ref.ask(m.GetUser(_id(request)))


@endpoint(
    body=UserChange, responses={200: UserView}, errors=[404, 409], auth="admin", tags=["users"]
)
async def update_user(request: Request, body: UserChange, principal: Principal) -> UserView:
    """Change a user's email, role or whether it is active (administrators).

    A role change or a deactivation revokes the user's tokens at once.
    """
    change = m.UpdateUser(_id(request), body.email, body.role, body.active)
    return await users(request).ref.ask(change)


@endpoint(responses=NO_CONTENT, errors=[404, 409], auth="admin", tags=["users"])
async def delete_user(request: Request, principal: Principal) -> Response:
    """Delete a user with its tokens and keys (administrators)."""
    await users(request).ref.ask(m.DeleteUser(_id(request)))
    return Response(status_code=204)


@endpoint(body=PermissionIn, responses={200: UserView}, errors=[404], auth="admin", tags=["users"])
async def set_permission(request: Request, body: PermissionIn, principal: Principal) -> UserView:
    """Grant or withdraw read and write on a knowledge area (administrators)."""
    grant = m.SetPermission(_id(request), body.area_id, body.read, body.write)
    return await users(request).ref.ask(grant)


@endpoint(body=ApiKeyIn, responses={201: NewApiKeyView}, errors=[409], auth="user", tags=["keys"])
async def create_api_key(request: Request, body: ApiKeyIn, principal: Principal) -> NewApiKeyView:
    """Create an API key; its secret is in this answer only."""
    seconds = body.expires_in_days * 86400 if body.expires_in_days else None
    return await users(request).ref.ask(m.CreateApiKey(principal.user_id, body.name, seconds))


@endpoint(responses={200: ApiKeyList}, auth="user", tags=["keys"])
async def list_api_keys(request: Request, principal: Principal) -> ApiKeyList:
    """Your API keys, without their secrets."""
    return ApiKeyList(items=await users(request).ref.ask(m.ListApiKeys(principal.user_id)))


@endpoint(responses=NO_CONTENT, errors=[404], auth="user", tags=["keys"])
async def delete_api_key(request: Request, principal: Principal) -> Response:
    """Delete one of your API keys."""
    await users(request).ref.ask(m.DeleteApiKey(principal.user_id, _item(request)))
    return Response(status_code=204)


@endpoint(body=SshKeyIn, responses={201: SshKeyView}, errors=[409], auth="user", tags=["keys"])
async def add_ssh_key(request: Request, body: SshKeyIn, principal: Principal) -> SshKeyView:
    """Register an OpenSSH public key for the SSH gateway."""
    key = parse_ssh_key(body.public_key)
    return await users(request).ref.ask(m.AddSshKey(principal.user_id, key, body.title))


@endpoint(responses={200: SshKeyList}, auth="user", tags=["keys"])
async def list_ssh_keys(request: Request, principal: Principal) -> SshKeyList:
    """Your SSH public keys with their fingerprints."""
    return SshKeyList(items=await users(request).ref.ask(m.ListSshKeys(principal.user_id)))


@endpoint(responses=NO_CONTENT, errors=[404], auth="user", tags=["keys"])
async def delete_ssh_key(request: Request, principal: Principal) -> Response:
    """Remove one of your SSH keys."""
    await users(request).ref.ask(m.DeleteSshKey(principal.user_id, _item(request)))
    return Response(status_code=204)


def routes() -> list[Route]:
    base = f"{API}/users"
    return [
        Route(f"{base}/me", me, methods=["GET"]),
        Route(f"{base}/me/password", change_password, methods=["PUT"]),
        Route(f"{base}/me/api-keys", create_api_key, methods=["POST"]),
        Route(f"{base}/me/api-keys", list_api_keys, methods=["GET"]),
        Route(f"{base}/me/api-keys/{{key_id}}", delete_api_key, methods=["DELETE"]),
        Route(f"{base}/me/ssh-keys", add_ssh_key, methods=["POST"]),
        Route(f"{base}/me/ssh-keys", list_ssh_keys, methods=["GET"]),
        Route(f"{base}/me/ssh-keys/{{key_id}}", delete_ssh_key, methods=["DELETE"]),
        Route(f"{base}/lookup", lookup_user, methods=["GET"]),
        Route(base, list_users, methods=["GET"]),
        Route(base, create_user, methods=["POST"]),
        Route(f"{base}/{{user_id}}", get_user, methods=["GET"]),
        Route(f"{base}/{{user_id}}", update_user, methods=["PUT"]),
        Route(f"{base}/{{user_id}}", delete_user, methods=["DELETE"]),
        Route(f"{base}/{{user_id}}/permissions", set_permission, methods=["PUT"]),
    ]
