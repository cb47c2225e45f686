"""What the users actor answers and the API returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from ..storage.models import AreaPermission

if TYPE_CHECKING:
    from ..storage.models import ApiKey, SshKey, User

Role = Literal["user", "admin"]


def iso(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class UserView(BaseModel):
    id: str
    username: str
    email: str
    role: Role
    active: bool
    permissions: list[AreaPermission]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=str(user.id),
            username=user.username,
            email=user.email,
            role=user.role,
            active=user.active,
            permissions=user.permissions,
            created_at=iso(user.created_at),
        )


class UserPage(BaseModel):
    items: list[UserView]
    total: int
    offset: int
    limit: int


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class ApiKeyView(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyView:
        return cls(
            id=str(key.id),
            name=key.name,
            prefix=f"aiss_{key.lookup}",
            created_at=iso(key.created_at),
            expires_at=iso(key.expires_at) if key.expires_at else None,
        )


class NewApiKeyView(ApiKeyView):
    key: str  # shown once


class SshKeyView(BaseModel):
    id: str
    title: str
    algorithm: str
    fingerprint: str
    public_key: str
    created_at: datetime

    @classmethod
    def of(cls, key: SshKey) -> SshKeyView:
        return cls(
            id=str(key.id),
            title=key.title,
            algorithm=key.algorithm,
            fingerprint=key.fingerprint,
            public_key=key.public_key,
            created_at=iso(key.created_at),
        )


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request, as far as authorization is concerned."""

    user_id: str
    username: str
    role: str
    permissions: tuple[AreaPermission, ...]
    via: Literal["token", "api_key", "ssh"]
    # The bearer credential of the request, so that a role reached over HTTP on
    # the caller's behalf checks the same rights; empty for SSH logins.
    credential: str = field(default="", repr=False, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class LoginTicket:
    """A login's first step: the stored hash to check (empty for an unknown user)."""

    user_id: str
    password_hash: str
