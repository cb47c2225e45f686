"""The messages the users actor answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors import Request

from .views import (
    ApiKeyView,
    LoginTicket,
    NewApiKeyView,
    Principal,
    SshKeyView,
    TokenPair,
    UserPage,
    UserView,
)

if TYPE_CHECKING:
    from ..auth.credentials import SshPublicKey


@dataclass(frozen=True)
class LoginStart(Request[LoginTicket]):
    username: str
    client: str


@dataclass(frozen=True)
class LoginFinish(Request[TokenPair]):
    username: str
    user_id: str  # "" when the password did not match
    client: str


@dataclass(frozen=True)
class GatewayLogin(Request[Principal]):
    """An SSH login's second step: like LoginFinish, but a principal instead of tokens."""

    username: str
    user_id: str  # "" when the password did not match
    client: str


@dataclass(frozen=True)
class GatewayKey(Request[Principal]):
    """An SSH public-key login: the key's fingerprint must be one of the user's keys."""

    username: str
    fingerprint: str
    client: str


@dataclass(frozen=True)
class Refresh(Request[TokenPair]):
    refresh_token: str
    client: str


@dataclass(frozen=True)
class Logout(Request[None]):
    refresh_token: str
    client: str


@dataclass(frozen=True)
class ResolveToken(Request[Principal]):
    access_token: str


@dataclass(frozen=True)
class ResolveApiKey(Request[Principal]):
    key: str


@dataclass(frozen=True)
class GetUser(Request[UserView]):
    user_id: str


@dataclass(frozen=True)
class FindUser(Request[UserView]):
    username: str


@dataclass(frozen=True)
class ListUsers(Request[UserPage]):
    offset: int
    limit: int


@dataclass(frozen=True)
class CreateUser(Request[UserView]):
    username: str
    email: str
    password_hash: str
    role: str


@dataclass(frozen=True)
class UpdateUser(Request[UserView]):
    user_id: str
    email: str | None = None
    role: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class DeleteUser(Request[None]):
    user_id: str


@dataclass(frozen=True)
class SetPermission(Request[UserView]):
    user_id: str
    area_id: str
    read: bool
    write: bool


@dataclass(frozen=True)
class PasswordHash(Request[str]):
    user_id: str


@dataclass(frozen=True)
class SetPassword(Request[None]):
    user_id: str
    password_hash: str
    client: str


@dataclass(frozen=True)
class CreateApiKey(Request[NewApiKeyView]):
    user_id: str
    name: str
    expires_in: float | None


@dataclass(frozen=True)
class ListApiKeys(Request[list[ApiKeyView]]):
    user_id: str


@dataclass(frozen=True)
class DeleteApiKey(Request[None]):
    user_id: str
    key_id: str


@dataclass(frozen=True)
class AddSshKey(Request[SshKeyView]):
    user_id: str
    key: SshPublicKey
    title: str


@dataclass(frozen=True)
class ListSshKeys(Request[list[SshKeyView]]):
    user_id: str


@dataclass(frozen=True)
class DeleteSshKey(Request[None]):
    user_id: str
    key_id: str


UsersMessage = (
    LoginStart
    | LoginFinish
    | GatewayLogin
    | GatewayKey
    | Refresh
    | Logout
    | ResolveToken
    | ResolveApiKey
    | GetUser
    | FindUser
    | ListUsers
    | CreateUser
    | UpdateUser
    | DeleteUser
    | SetPermission
    | PasswordHash
    | SetPassword
    | CreateApiKey
    | ListApiKeys
    | DeleteApiKey
    | AddSshKey
    | ListSshKeys
    | DeleteSshKey
)
