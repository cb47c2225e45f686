"""The users actor: owns accounts, token families, login limits and the auth audit log."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any

from beanie import PydanticObjectId
from bson.errors import InvalidId
from pymongo.errors import DuplicateKeyError

from actors import Actor

from ..auth.credentials import digest, new_api_key, parse_api_key, same_digest
from ..auth.ratelimit import SlidingWindow
from ..errors import (
    AissError,
    Conflict,
    NotFound,
    StoreUnavailable,
    TooManyRequests,
    Unauthorized,
)
from ..storage.models import ApiKey, AreaPermission, AuthEvent, RefreshToken, SshKey, User
from .messages import (
    AddSshKey,
    CreateApiKey,
    CreateUser,
    DeleteApiKey,
    DeleteSshKey,
    DeleteUser,
    FindUser,
    GatewayKey,
    GatewayLogin,
    GetUser,
    ListApiKeys,
    ListSshKeys,
    ListUsers,
    LoginFinish,
    LoginStart,
    Logout,
    PasswordHash,
    Refresh,
    ResolveApiKey,
    ResolveToken,
    SetPassword,
    SetPermission,
    UpdateUser,
    UsersMessage,
)
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
    from collections.abc import Callable

    from ..auth.passwords import Passwords
    from ..auth.tokens import TokenService
    from ..storage.mongo import MongoStore

logger = logging.getLogger("aiss.users")
CACHE_SECONDS = 5.0  # bounds how long a change made by another process goes unseen
MAX_API_KEYS = 50


class UsersActor(Actor[UsersMessage]):
    recoverable = (AissError,)

    def __init__(
        self,
        mongo: MongoStore,
        tokens: TokenService,
        passwords: Passwords,
        *,
        admin_password: str | None,
        login_limit: tuple[int, float],
        announce: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        seed: bool = True,
    ) -> None:
        self.mongo = mongo
        self.tokens = tokens
        self.passwords = passwords
        self.admin_password = admin_password
        self.limiter = SlidingWindow(*login_limit)
        self.announce = announce
        self.clock = clock
        self._cache: dict[str, tuple[float, User]] = {}
        self._seeded = not seed  # one role seeds the first admin, not every process

    async def on_start(self) -> None:
        # Seed now when the database answers; otherwise the first message does it.
        if self._seeded:
            return
        with contextlib.suppress(StoreUnavailable), self.mongo.breaker.guard():
            self.mongo.database  # noqa: B018
            await self._seed()

    async def handle(self, message: UsersMessage) -> Any:
        with self.mongo.breaker.guard():
            self.mongo.database  # noqa: B018 - raises StoreUnavailable until connected
            if not self._seeded:
                await self._seed()
            return await self._dispatch(message)

    async def _dispatch(self, message: UsersMessage) -> Any:
        match message:
            case LoginStart(username, client):
                return await self._login_start(username, client)
            case LoginFinish(username, user_id, client):
                return await self._login_finish(username, user_id, client)
            case GatewayLogin(username, user_id, client):
                return await self._gateway_login(username, user_id, client)
            case GatewayKey(username, fingerprint, client):
                return await self._gateway_key(username, fingerprint, client)
            case Refresh(token, client):
                return await self._refresh(token, client)
            case Logout(token, client):
                claims = self.tokens.verify(token, "refresh")
                await self._revoke_family(claims.family)
                await self._audit("logout", user_id=claims.user_id, client=client)
                return None
            case ResolveToken(token):
                return await self._resolve_token(token)
            case ResolveApiKey(key):
                return await self._resolve_api_key(key)
            case GetUser(user_id):
                return UserView.of(await self._user(user_id))
            case FindUser(username):
                user = await User.find_one(User.username == username.lower())
                if user is None:
                    raise NotFound(f"no user {username!r}")
                return UserView.of(user)
            case ListUsers(offset, limit):
                total = await User.find_all().count()
                users = await User.find_all().sort("username").skip(offset).limit(limit).to_list()
                return UserPage(
                    items=[UserView.of(u) for u in users], total=total, offset=offset, limit=limit
                )
            case CreateUser(username, email, password_hash, role):
                return UserView.of(await self._create(username, email, password_hash, role))
            case UpdateUser():
                return UserView.of(await self._update(message))
            case DeleteUser(user_id):
                return await self._delete(user_id)
            case SetPermission(user_id, area_id, read, write):
                user = await self._user(user_id)
                kept = [p for p in user.permissions if p.area_id != area_id]
                if read or write:
                    kept.append(AreaPermission(area_id=area_id, read=read or write, write=write))
                user.permissions = kept
                return UserView.of(await self._save(user))
            case PasswordHash(user_id):
                return (await self._user(user_id)).password_hash
            case SetPassword(user_id, password_hash, client):
                user = await self._user(user_id)
                user.password_hash = password_hash
                user.token_version += 1
                await self._save(user)
                await self._revoke_user_tokens(user_id)
                await self._audit("password_changed", user_id=user_id, client=client)
                return None
            case CreateApiKey(user_id, name, expires_in):
                return await self._create_api_key(user_id, name, expires_in)
            case ListApiKeys(user_id):
                keys = await ApiKey.find(ApiKey.user_id == user_id).sort("created_at").to_list()
                return [ApiKeyView.of(k) for k in keys]
            case DeleteApiKey(user_id, key_id):
                api_key = await ApiKey.find_one(
                    ApiKey.id == _object_id(key_id), ApiKey.user_id == user_id
                )
                if api_key is None:
                    raise NotFound("no such API key")
                await api_key.delete()
                return None
            case AddSshKey(user_id, key, title):
                try:
                    stored = await SshKey(
                        user_id=user_id,
                        title=title or key.comment,
                        public_key=key.openssh,
                        fingerprint=key.fingerprint,
                        algorithm=key.algorithm,
                    ).insert()
                except DuplicateKeyError:
                    raise Conflict("this SSH key is already registered") from None
                return SshKeyView.of(stored)
            case ListSshKeys(user_id):
                keys = await SshKey.find(SshKey.user_id == user_id).sort("created_at").to_list()
                return [SshKeyView.of(k) for k in keys]
            case DeleteSshKey(user_id, key_id):
                ssh = await SshKey.find_one(
                    SshKey.id == _object_id(key_id), SshKey.user_id == user_id
                )
                if ssh is None:
                    raise NotFound("no such SSH key")
                await ssh.delete()
                return None

    # -- accounts ----------------------------------------------------------------

    async def _seed(self) -> None:
        """On first start, create `admin` with ADMIN_INITIAL_PASSWORD or a generated one."""
        if await User.find_one(User.role == "admin") is None and not await User.find_one(
            User.username == "admin"
        ):
            password = self.admin_password or secrets.token_urlsafe(24)
            await self._create(
                "admin", "admin@localhost", await self.passwords.hash(password), "admin"
            )
            if self.admin_password is None:
                self.announce(password)
        self._seeded = True

    async def _user(self, user_id: str) -> User:
        user = await User.get(_object_id(user_id))
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        return user

    async def _cached(self, user_id: str) -> User | None:
        now = self.clock()
        hit = self._cache.get(user_id)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        try:
            user = await User.get(_object_id(user_id))
        except NotFound:
            return None
        if user is not None:
            self._cache[user_id] = (now, user)
            if len(self._cache) > 10_000:
                self._cache.pop(next(iter(self._cache)))
        return user

    async def _save(self, user: User) -> User:
        await user.save()
        self._cache.pop(str(user.id), None)
        return user

    async def _create(self, username: str, email: str, password_hash: str, role: str) -> User:
        try:
            user = await User(
                username=username.lower(),
                email=email.lower(),
                password_hash=password_hash,
                role=role,
            ).insert()
        except DuplicateKeyError:
            raise Conflict("that username or email is already taken") from None
        await self._audit("user_created", user_id=str(user.id), username=user.username)
        return user

    async def _update(self, change: UpdateUser) -> User:
        user = await self._user(change.user_id)
        demoted = change.role is not None and change.role != user.role
        deactivated = change.active is False and user.active
        if user.role == "admin" and (demoted or deactivated):
            await self._keep_an_admin(user)
        if change.email is not None:
            user.email = change.email.lower()
        if change.role is not None:
            user.role = change.role
        if change.active is not None:
            user.active = change.active
        if demoted or deactivated:
            user.token_version += 1
            await self._revoke_user_tokens(change.user_id)
        try:
            return await self._save(user)
        except DuplicateKeyError:
            raise Conflict("that email is already taken") from None

    async def _delete(self, user_id: str) -> None:
        user = await self._user(user_id)
        if user.role == "admin":
            await self._keep_an_admin(user)
        for model in (RefreshToken, ApiKey, SshKey):
            await model.find(model.user_id == user_id).delete()
        await user.delete()
        self._cache.pop(user_id, None)
        await self._audit("user_deleted", user_id=user_id, username=user.username)

    async def _keep_an_admin(self, leaving: User) -> None:
        others = await User.find(User.role == "admin", User.active == True).count()  # noqa: E712
        if others <= 1 and leaving.active:
            raise Conflict("this is the last active admin; make another admin first")

    # -- logins and tokens ---------------------------------------------------------

    async def _login_start(self, username: str, client: str) -> LoginTicket:
        now = self.clock()
        keys = (f"user:{username.lower()}", f"client:{client}")
        wait = max(self.limiter.retry_after(key, now) for key in keys)
        if wait:
            await self._audit("login_limited", username=username, client=client)
            raise TooManyRequests("too many login attempts; wait before trying again", wait)
        for key in keys:
            self.limiter.record(key, now)
        user = await User.find_one(User.username == username.lower())
        if user is None or not user.active:
            return LoginTicket("", "")
        return LoginTicket(str(user.id), user.password_hash)

    async def _login_finish(self, username: str, user_id: str, client: str) -> TokenPair:
        user = await self._cached(user_id) if user_id else None
        if user is None or not user.active:
            await self._audit("login_failed", username=username, client=client)
            raise Unauthorized("wrong username or password")
        self.limiter.clear(f"user:{user.username}")
        await self._audit("login_ok", user_id=user_id, username=user.username, client=client)
        return await self._issue(user, family=uuid.uuid4().hex)

    async def _gateway_login(self, username: str, user_id: str, client: str) -> Principal:
        user = await self._cached(user_id) if user_id else None
        if user is None or not user.active:
            await self._audit("ssh_login_failed", username=username, client=client)
            raise Unauthorized("wrong username or password")
        self.limiter.clear(f"user:{user.username}")
        await self._audit("ssh_login_ok", user_id=user_id, username=user.username, client=client)
        return _principal(user, "ssh")

    async def _gateway_key(self, username: str, fingerprint: str, client: str) -> Principal:
        now = self.clock()
        keys = (f"user:{username.lower()}", f"client:{client}")
        wait = max(self.limiter.retry_after(key, now) for key in keys)
        if wait:
            raise TooManyRequests("too many login attempts; wait before trying again", wait)
        key = await SshKey.find_one(SshKey.fingerprint == fingerprint)
        user = await self._cached(key.user_id) if key else None
        if user is None or not user.active or user.username != username.lower():
            raise Unauthorized("not a key of this user")
        await self._audit(
            "ssh_login_ok", user_id=str(user.id), username=user.username, client=client
        )
        return _principal(user, "ssh")

    async def _issue(self, user: User, family: str) -> TokenPair:
        user_id = str(user.id)
        access, _ = self.tokens.issue("access", user_id, version=user.token_version, role=user.role)
        refresh, claims = self.tokens.issue(
            "refresh", user_id, version=user.token_version, role=user.role, family=family
        )
        await RefreshToken(
            jti=claims.jti, user_id=user_id, family=family, expires_at=claims.expires
        ).insert()
        return TokenPair(
            access_token=access, refresh_token=refresh, expires_in=int(self.tokens.access_seconds)
        )

    async def _refresh(self, token: str, client: str) -> TokenPair:
        claims = self.tokens.verify(token, "refresh")
        rotated = await self.mongo.collection("refresh_tokens").update_one(
            {"jti": claims.jti, "state": "active"}, {"$set": {"state": "used"}}
        )
        if rotated.modified_count != 1:
            stored = await RefreshToken.find_one(RefreshToken.jti == claims.jti)
            if stored is not None and stored.state == "used":
                await self._revoke_family(claims.family)
                await self._audit("refresh_reuse", user_id=claims.user_id, client=client)
                raise Unauthorized("refresh token reused: every session of that login is revoked")
            raise Unauthorized("refresh token revoked")
        user = await self._cached(claims.user_id)
        if user is None or not user.active or user.token_version != claims.version:
            await self._revoke_family(claims.family)
            raise Unauthorized("refresh token revoked")
        return await self._issue(user, claims.family)

    async def _revoke_family(self, family: str) -> None:
        await self.mongo.collection("refresh_tokens").update_many(
            {"family": family}, {"$set": {"state": "revoked"}}
        )

    async def _revoke_user_tokens(self, user_id: str) -> None:
        await self.mongo.collection("refresh_tokens").update_many(
            {"user_id": user_id}, {"$set": {"state": "revoked"}}
        )

    async def _resolve_token(self, token: str) -> Principal:
        claims = self.tokens.verify(token, "access")
        user = await self._cached(claims.user_id)
        if user is None or not user.active or user.token_version != claims.version:
            raise Unauthorized("token revoked")
        return _principal(user, "ssh")

    async def _resolve_api_key(self, key: str) -> Principal:
        lookup = parse_api_key(key)
        stored = await ApiKey.find_one(ApiKey.lookup == lookup) if lookup else None
        if stored is None or not same_digest(stored.digest, digest(key)):
            raise Unauthorized("unknown API key")
        if stored.expires_at and stored.expires_at < self.clock():
            raise Unauthorized("API key expired")
        user = await self._cached(stored.user_id)
        if user is None or not user.active:
            raise Unauthorized("API key revoked")
        return _principal(user, "api_key")

    async def _create_api_key(
        self, user_id: str, name: str, expires_in: float | None
    ) -> NewApiKeyView:
        if await ApiKey.find(ApiKey.user_id == user_id).count() >= MAX_API_KEYS:
            raise Conflict(f"a user holds at most {MAX_API_KEYS} API keys; delete one first")
        new = new_api_key()
        expires = self.clock() + expires_in if expires_in else 0.0
        stored = await ApiKey(
            user_id=user_id, name=name, lookup=new.lookup, digest=new.digest, expires_at=expires
        ).insert()
        await self._audit("api_key_created", user_id=user_id, detail=name)
        return NewApiKeyView(**ApiKeyView.of(stored).model_dump(), key=new.secret)

    async def _audit(self, kind: str, **fields: str) -> None:
        await AuthEvent(kind=kind, at=self.clock(), **fields).insert()


def _principal(user: User, via: Any) -> Principal:
    return Principal(str(user.id), user.username, user.role, tuple(user.permissions), via)


def _object_id(value: str) -> PydanticObjectId:
    try:
        return PydanticObjectId(value)
    except (InvalidId, TypeError):
        raise NotFound(f"no such id {value!r}") from None
