"""argon2id password hashes, computed in worker threads, and the strength rule."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import ValidationFailed

MIN_LENGTH = 12
LONG_ENOUGH = 20
RULE = (
    f"at least {MIN_LENGTH} characters with three kinds of character (lower case, upper case,"
    f" digits, others), or at least {LONG_ENOUGH} characters of any kind; not the user name"
)


def check_strength(password: str, *, username: str = "", email: str = "") -> None:
    """Raise `ValidationFailed` naming the rule when `password` does not meet it."""
    kinds = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    lowered = password.lower()
    personal = any(
        len(v) >= 3 and v.lower() in lowered for v in (username, email.partition("@")[0])
    )
    strong = len(password) >= LONG_ENOUGH or (len(password) >= MIN_LENGTH and kinds >= 3)
    if not strong or personal or len(password) > 1024:
        raise ValidationFailed(
            f"the password is too weak: {RULE}", [{"loc": ["password"], "msg": RULE}]
        )


class Passwords:
    """Hashing costs ~0.1 s of CPU by default, so it never runs on the event loop.

    Checking a password for an unknown user verifies against a dummy hash of
    the same cost, so that the answer takes as long as for a wrong password.
    """

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 64 * 1024) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=2)
        self._dummy = self._hasher.hash("not a password: equalises timing for unknown users")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        return await anyio.to_thread.run_sync(self._verify, stored, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False
