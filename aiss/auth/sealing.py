"""Secrets at rest: encrypted with a key from the settings, never returned in clear.

The Fernet key is derived from AISS_ENCRYPTION_KEY: a random key (one that
decodes, as URL-safe base64 or hex, to 32 bytes or more) through HKDF-SHA256;
anything else is a passphrase and is stretched with scrypt, so a short one
cannot be guessed quickly from a stolen database. Every replica derives the
same key from the same setting, so the salt is fixed and names the purpose.
Values sealed by earlier versions (a bare SHA-256 of the setting) still open,
and `reseal` rewrites them under the derived key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import secrets
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from ..config import Settings
    from ..storage.mongo import MongoStore

logger = logging.getLogger("aiss.auth")
SALT = b"aiss/sealing/v2"
RANDOM_BYTES = 32
HEX = re.compile(r"[0-9a-fA-F]{64,}")
BASE64 = re.compile(r"[A-Za-z0-9_-]{43,}={0,2}")
SCRYPT = {"n": 2**15, "r": 8, "p": 1}  # about 32 MiB and a tenth of a second
# Where sealed values are kept: collection, fields.
SEALED = {
    "llm_providers": ("api_key_sealed",),
    "ssh_credentials": ("password_sealed", "private_key_sealed", "passphrase_sealed"),
}


def random_key_bytes(key: str) -> bytes | None:
    """The bytes of a random key given as hex or URL-safe base64 (as `openssl rand`,
    `secrets.token_urlsafe` and Fernet make them); None for a passphrase."""
    text = key.strip()
    digits, letters = any(c.isdigit() for c in text), any(c.isalpha() for c in text)
    if HEX.fullmatch(text) and len(text) % 2 == 0 and digits and letters:
        return bytes.fromhex(text)
    mixed = any(c.isupper() for c in text) and any(c.islower() for c in text)
    if BASE64.fullmatch(text) and mixed and digits:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (ValueError, binascii.Error):
            return None
        return raw if len(raw) >= RANDOM_BYTES else None
    return None


def derive(key: str) -> bytes:
    """The Fernet key for AISS_ENCRYPTION_KEY."""
    raw = random_key_bytes(key)
    if raw is not None:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=b"fernet")
        derived = hkdf.derive(raw)
    else:
        derived = hashlib.scrypt(key.encode(), salt=SALT, dklen=32, maxmem=64 << 20, **SCRYPT)
    return base64.urlsafe_b64encode(derived)


def _legacy(key: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest())


class Sealer:
    def __init__(self, key: str) -> None:
        self._current = Fernet(derive(key))
        self._fernet = MultiFernet([self._current, Fernet(_legacy(key))])

    @classmethod
    def from_settings(cls, settings: Settings) -> Sealer:
        if settings.encryption_key is not None:
            return cls(settings.encryption_key.reveal())
        path = settings.data_dir / "encryption_key"
        if not path.exists():
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(48))
        return cls(path.read_text().strip())

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("the secret was sealed with another key") from None

    def current(self, sealed: str) -> bool:
        try:
            self._current.decrypt(sealed.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, sealed: str) -> str:
        """The same secret sealed under the current key (InvalidToken if no key opens it)."""
        return self._fernet.rotate(sealed.encode()).decode()


async def reseal(mongo: MongoStore, sealer: Sealer) -> int:
    """Rewrite values sealed the old way under the current key; how many were."""
    count = 0
    for name, fields in SEALED.items():
        collection = mongo.collection(name)
        async for document in collection.find({}):
            changes: dict[str, Any] = {}
            for field in fields:
                value = document.get(field) or ""
                if not value or sealer.current(value):
                    continue
                try:
                    changes[field] = sealer.rotate(value)
                except InvalidToken:
                    logger.warning("a sealed value opens with no key", extra={"collection": name})
            if changes:
                await collection.update_one({"_id": document["_id"]}, {"$set": changes})
                count += 1
    return count
