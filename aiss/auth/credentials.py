"""API keys (random secrets shown once, stored hashed) and SSH public keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import asyncssh

from ..errors import ValidationFailed

API_KEY_PREFIX = "aiss_"


@dataclass(frozen=True, slots=True)
class NewApiKey:
    secret: str  # shown to the user once
    lookup: str  # stored, indexed: finds the key without the secret
    digest: str  # stored: sha256 of the whole key


def new_api_key() -> NewApiKey:
    lookup = secrets.token_hex(6)
    secret = f"{API_KEY_PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    return NewApiKey(secret, lookup, digest(secret))


def digest(key: str) -> str:
    # A fast hash is right here: the key is 256 random bits, not a password.
    return hashlib.sha256(key.encode()).hexdigest()


def parse_api_key(token: str) -> str | None:
    """The lookup part of something shaped like an API key, else None."""
    if not token.startswith(API_KEY_PREFIX):
        return None
    lookup, _, rest = token[len(API_KEY_PREFIX) :].partition("_")
    return lookup if len(lookup) == 12 and rest else None


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


@dataclass(frozen=True, slots=True)
class SshPublicKey:
    openssh: str  # normalised: "type base64"
    fingerprint: str  # SHA256:...
    algorithm: str
    comment: str


def parse_ssh_key(text: str) -> SshPublicKey:
    """Validate one OpenSSH public key line; raise `ValidationFailed` otherwise."""
    line = text.strip()
    if "\n" in line or not line:
        raise ValidationFailed("send exactly one OpenSSH public key line")
    try:
        key = asyncssh.import_public_key(line)
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise ValidationFailed(f"not an OpenSSH public key: {exc}") from None
    exported = key.export_public_key("openssh").decode().strip()
    algorithm, _, rest = exported.partition(" ")
    body = rest.partition(" ")[0]
    comment = key.get_comment() or ""
    return SshPublicKey(f"{algorithm} {body}", key.get_fingerprint("sha256"), algorithm, comment)
