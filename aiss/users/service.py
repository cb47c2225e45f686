"""The `users` subtree and the handle routes use: the actor's ref, hashing, authentication."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from actors import ActorRef, ActorSpec, Strategy, Supervisor

from ..auth.credentials import parse_api_key
from ..auth.passwords import Passwords
from ..auth.tokens import TokenService
from ..errors import Unauthorized
from ..tree import supervisor
from .actor import UsersActor
from .messages import ResolveApiKey, ResolveToken, UsersMessage

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import HTTPConnection

    from ..config import Settings
    from ..storage.mongo import MongoStore
    from .views import Principal


def announce_admin_password(password: str) -> None:
    # Printed once, to the terminal of whoever started AISS; only the hash is stored.
    print(
        f"\n  AISS created the user 'admin' with the password: {password}\n"
        "  It is shown only this once. Change it with PUT /api/v1/users/me/password.\n",
        file=sys.stderr,
        flush=True,
    )


@dataclass(frozen=True)
class Users:
    tree: Supervisor
    ref: ActorRef[UsersMessage]
    passwords: Passwords
    tokens: TokenService

    async def authenticate(self, request: HTTPConnection) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("send Authorization: Bearer <access token or API key>")
        if parse_api_key(token) is not None:
            principal = await self.ref.ask(ResolveApiKey(token))
        else:
            principal = await self.ref.ask(ResolveToken(token))
        return replace(principal, credential=token)


def build_users(
    settings: Settings,
    mongo: MongoStore,
    *,
    announce: Callable[[str], None] = announce_admin_password,
) -> Users:
    passwords = Passwords(
        time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
    )
    tokens = TokenService.from_settings(settings)
    admin = settings.admin_initial_password

    def factory() -> UsersActor:
        return UsersActor(
            mongo,
            tokens,
            passwords,
            admin_password=admin.reveal() if admin else None,
            login_limit=settings.login_rate_limit,
            announce=announce,
            seed=settings.role in ("all", "users"),
        )

    spec = ActorSpec(
        "users",
        factory,
        mailbox_size=settings.mailbox_size,
        ask_timeout=settings.ask_timeout,
        shutdown_timeout=settings.shutdown_timeout,
    )
    tree = supervisor(settings, "users", [spec], Strategy.ONE_FOR_ONE)
    return Users(tree, spec.ref, passwords, tokens)
