from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiss.auth.passwords import Passwords, check_strength
from aiss.errors import ValidationFailed

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "password",
    ["short1A!", "alllowercaseletters", "ALLUPPER123456", "Kevin-2026-pass", "x" * 1025],
)
def test_weak_passwords_are_refused_with_the_rule(password: str) -> None:
    with pytest.raises(ValidationFailed, match="at least 12 characters"):
        check_strength(password, username="kevin")


@pytest.mark.parametrize(
    "password", ["Correct-Horse-9", "correct horse battery staple", "Tr0ub4dour&3xyz"]
)
def test_strong_passwords_pass(password: str) -> None:
    check_strength(password, username="kevin", email="kevin@example.org")


@given(st.text(min_size=20, max_size=60).filter(lambda p: "kev" not in p.lower()))
def test_any_long_password_passes(password: str) -> None:
    check_strength(password, username="kevin")


async def test_hashes_verify_and_unknown_users_never_do() -> None:
    passwords = Passwords(time_cost=1, memory_kib=8 * 1024)
    stored = await passwords.hash("Correct-Horse-9")
    assert stored.startswith("$argon2id$")
    assert await passwords.verify(stored, "Correct-Horse-9")
    assert not await passwords.verify(stored, "correct-horse-9")
    assert not await passwords.verify(None, "Correct-Horse-9")
    assert not await passwords.verify("garbage", "Correct-Horse-9")
