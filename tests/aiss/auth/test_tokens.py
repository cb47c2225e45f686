"""JWT verification against the attacks it must refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from aiss.auth.tokens import InvalidToken, TokenKeys, TokenService
from aiss.config import Secret, Settings

if TYPE_CHECKING:
    from pathlib import Path

SECRET = "s" * 40


def service(keys: TokenKeys | None = None) -> TokenService:
    keys = keys or TokenKeys("HS256", SECRET.encode(), {"k1": SECRET.encode()}, "k1")
    return TokenService(
        keys, issuer="aiss", audience="aiss", access_seconds=60, refresh_seconds=600
    )


def forge(payload: dict[str, Any], key: Any = SECRET, alg: str = "HS256", kid: str = "k1") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": "aiss",
        "aud": "aiss",
        "sub": "u1",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "j1",
        "type": "access",
        "ver": 0,
        "role": "user",
    }
    return {k: v for k, v in (base | overrides).items() if v is not None}


def test_issued_tokens_verify_with_their_claims() -> None:
    tokens = service()
    token, issued = tokens.issue("access", "u1", version=3, role="admin")
    verified = tokens.verify(token, "access")
    assert (verified.user_id, verified.version, verified.role) == ("u1", 3, "admin")
    assert verified.jti == issued.jti
    refresh, _ = tokens.issue("refresh", "u1", version=3, role="admin", family="f1")
    assert tokens.verify(refresh, "refresh").family == "f1"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (forge(claims(exp=int(time.time()) - 60)), "expired"),
        (forge(claims(nbf=int(time.time()) + 600)), "not yet valid"),
        (forge(claims(aud="other")), "(?i)audience"),
        (forge(claims(iss="other")), "(?i)issuer"),
        (forge(claims(type="refresh")), "not an access token"),
        (forge(claims(jti=None)), "jti"),
        (forge(claims(type=None)), "type"),
        (forge(claims(exp=None)), "exp"),
        (forge(claims(ver="0")), "malformed"),
        (forge(claims(), key="w" * 40), "(?i)signature"),
        (forge(claims(), kid="unknown"), "unknown signing key"),
        ("not.a.token", "invalid token"),
        ("", "invalid token"),
    ],
)
def test_tampered_or_foreign_tokens_are_refused(token: str, reason: str) -> None:
    with pytest.raises(InvalidToken, match=reason):
        service().verify(token, "access")


def test_a_refresh_token_is_never_an_access_token() -> None:
    tokens = service()
    refresh, _ = tokens.issue("refresh", "u1", version=0, role="user", family="f")
    with pytest.raises(InvalidToken, match="not an access token"):
        tokens.verify(refresh, "access")
    access, _ = tokens.issue("access", "u1", version=0, role="user")
    with pytest.raises(InvalidToken, match="not a refresh token"):
        tokens.verify(access, "refresh")


def test_alg_none_is_refused() -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "k1"}).encode())
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode())
    token = f"{header.decode().rstrip('=')}.{body.decode().rstrip('=')}."
    with pytest.raises(InvalidToken):
        service().verify(token, "access")


def test_a_changed_payload_breaks_the_signature() -> None:
    token, _ = service().issue("access", "u1", version=0, role="user")
    head, body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    with pytest.raises(InvalidToken, match="Signature"):
        service().verify(f"{head}.{forged}.{sig}", "access")


def test_hs_rs_confusion_is_refused() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    rs = service(TokenKeys("RS256", private_pem, {"r1": public_pem}, "r1"))
    good, _ = rs.issue("access", "u1", version=0, role="user")
    assert rs.verify(good, "access").user_id == "u1"
    # An attacker signs with HS256 using the public key as the HMAC secret.
    header = (
        base64.urlsafe_b64encode(b'{"alg":"HS256","kid":"r1","typ":"JWT"}').decode().rstrip("=")
    )
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).decode().rstrip("=")
    mac = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{body}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
    with pytest.raises(InvalidToken):
        rs.verify(forged, "access")


def test_eddsa_key_files_from_settings(tmp_path: Path) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    (tmp_path / "key.pem").write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "key.pub").write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = Settings.from_env(
        {
            "AISS_DATA_DIR": str(tmp_path),
            "JWT_ALGORITHM": "EdDSA",
            "JWT_PRIVATE_KEY_FILE": str(tmp_path / "key.pem"),
            "JWT_PUBLIC_KEY_FILE": str(tmp_path / "key.pub"),
        },
        env_file=None,
    )
    tokens = TokenService.from_settings(settings)
    token, _ = tokens.issue("access", "u1", version=0, role="user")
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    assert tokens.verify(token, "access").user_id == "u1"


def test_previous_secrets_still_verify_after_a_rotation(tmp_path: Path) -> None:
    old = Settings(data_dir=tmp_path, jwt_secret=Secret("o" * 40))
    token, _ = TokenService.from_settings(old).issue("access", "u1", version=0, role="user")
    rotated = Settings(
        data_dir=tmp_path, jwt_secret=Secret("n" * 40), jwt_previous_secrets=(Secret("o" * 40),)
    )
    assert TokenService.from_settings(rotated).verify(token, "access").user_id == "u1"
    dropped = Settings(data_dir=tmp_path, jwt_secret=Secret("n" * 40))
    with pytest.raises(InvalidToken, match="unknown signing key"):
        TokenService.from_settings(dropped).verify(token, "access")


def test_a_generated_secret_is_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = TokenService.from_settings(Settings(data_dir=tmp_path))
    token, _ = first.issue("access", "u1", version=0, role="user")
    again = TokenService.from_settings(Settings(data_dir=tmp_path))
    assert again.verify(token, "access").user_id == "u1"
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600
