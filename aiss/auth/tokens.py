"""JSON Web Tokens: issued and verified with every claim checked.

Verification pins the algorithm (so `none` and HS/RS switches fail), requires
`iss`, `aud`, `exp`, `nbf`, `iat`, `sub`, `jti` and `type`, and picks the key by
`kid`: the current key signs, earlier keys (JWT_PREVIOUS_SECRETS) still verify
until their tokens expire, so keys rotate without logging anyone out.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import jwt

from ..errors import Unauthorized

if TYPE_CHECKING:
    from ..config import Settings

TokenType = Literal["access", "refresh", "service"]  # service: one role calling another
SERVICE_SECONDS: Final = 300.0  # a role's token for calling another, renewed before it ends
REQUIRED: Final = ["iss", "aud", "exp", "nbf", "iat", "sub", "jti", "type"]


class InvalidToken(Unauthorized):
    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid token: {reason}")


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    type: TokenType
    jti: str
    version: int
    role: str
    family: str
    expires: float


def _kid(material: bytes) -> str:
    return hashlib.sha256(material).hexdigest()[:16]


class TokenKeys:
    def __init__(self, algorithm: str, signing: Any, verifying: dict[str, Any], kid: str) -> None:
        self.algorithm = "EdDSA" if algorithm.upper() == "EDDSA" else algorithm
        self.signing = signing
        self.verifying = verifying
        self.kid = kid

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenKeys:
        """HS256 with JWT_SECRET (generated once into the data dir when unset), or key files."""
        if settings.jwt_algorithm != "HS256":
            assert settings.jwt_private_key_file and settings.jwt_public_key_file
            private = settings.jwt_private_key_file.read_bytes()
            public = settings.jwt_public_key_file.read_bytes()
            return cls(settings.jwt_algorithm, private, {_kid(public): public}, _kid(public))
        if settings.jwt_secret is not None:
            secret = settings.jwt_secret.reveal().encode()
        else:
            secret = _generated_secret(settings)
        keys = {_kid(secret): secret}
        for previous in settings.jwt_previous_secrets:
            material = previous.reveal().encode()
            keys[_kid(material)] = material
        return cls("HS256", secret, keys, _kid(secret))


def _generated_secret(settings: Settings) -> bytes:
    path = settings.data_dir / "jwt_secret"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


class TokenService:
    def __init__(
        self,
        keys: TokenKeys,
        *,
        issuer: str,
        audience: str,
        access_seconds: float,
        refresh_seconds: float,
        leeway: float = 5.0,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.access_seconds = access_seconds
        self.refresh_seconds = refresh_seconds
        self.leeway = leeway

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenService:
        return cls(
            TokenKeys.from_settings(settings),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            access_seconds=settings.jwt_expiration.total_seconds(),
            refresh_seconds=settings.refresh_token_expiration.total_seconds(),
        )

    def issue(
        self, type: TokenType, user_id: str, *, version: int, role: str, family: str = ""
    ) -> tuple[str, Claims]:
        now = time.time()
        lifetime = {
            "access": self.access_seconds,
            "refresh": self.refresh_seconds,
            "service": SERVICE_SECONDS,
        }[type]
        claims = Claims(user_id, type, uuid.uuid4().hex, version, role, family, now + lifetime)
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(claims.expires),
            "jti": claims.jti,
            "type": type,
            "ver": version,
            "role": role,
        }
        if family:
            payload["fam"] = family
        token = jwt.encode(
            payload,
            self.keys.signing,
            algorithm=self.keys.algorithm,
            headers={"kid": self.keys.kid},
        )
        return token, claims

    def verify(self, token: str, expected: TokenType) -> Claims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.keys.verifying.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise InvalidToken("unknown signing key")
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.keys.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from None
        if payload.get("type") != expected:
            raise InvalidToken(
                f"not an {expected} token" if expected == "access" else f"not a {expected} token"
            )
        version = payload.get("ver")
        if not isinstance(version, int) or not isinstance(payload["sub"], str):
            raise InvalidToken("malformed claims")
        return Claims(
            user_id=payload["sub"],
            type=expected,
            jti=str(payload["jti"]),
            version=version,
            role=str(payload.get("role", "")),
            family=str(payload.get("fam", "")),
            expires=float(payload["exp"]),
        )
