"""Secrets at rest: encrypted with a key from the settings, never returned in clear."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

if TYPE_CHECKING:
    from ..config import Settings


class Sealer:
    def __init__(self, key: str) -> None:
        # Any string works as AISS_ENCRYPTION_KEY: a Fernet key is derived from it.
        digest = hashlib.sha256(key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

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
