"""The log scan of tests/conftest.py finds what it is meant to find."""

from __future__ import annotations

import logging

import pytest

from aiss.auth.credentials import new_api_key
from tests.aiss.routes.conftest import ADMIN_PASSWORD, STRONG
from tests.conftest import leaked
from tests.roles import ADMIN_PASSWORD as ROLES_PASSWORD
from tests.ssh_servers import PASSWORD as SSH_PASSWORD


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("aiss", logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


@pytest.mark.parametrize(
    "secret",
    [
        ADMIN_PASSWORD,
        STRONG,
        ROLES_PASSWORD,
        SSH_PASSWORD,
        new_api_key().secret,
        "sk-ant-api03-abcdefghijklmnop",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
    ],
)
def test_secrets_are_found_in_messages_and_extras(secret: str) -> None:
    assert leaked(record("login with %s", secret))
    assert leaked(record("login", detail={"password": secret}))


def test_ordinary_lines_pass() -> None:
    assert leaked(record("GET /api/v1/users/me 200", route="/api/v1/users/me", ms=1.2)) is None
