from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

# What must never be written to a log: tokens, API keys, provider keys, and the
# passwords the tests use (tests/*/conftest.py, tests/roles.py, tests/ssh_servers.py).
SECRET_PATTERNS = [
    re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"),  # a JWT
    re.compile(r"aiss_[0-9a-f]{12}_[\w-]{20,}"),  # an AISS API key
    re.compile(r"\bsk-[A-Za-z0-9-]{12,}"),  # an LLM provider's key
    re.compile(r"(?i)bearer\s+[\w.-]{20,}"),
    re.compile(
        "|".join(
            map(
                re.escape,
                [
                    "Admin-Passw0rd-for-tests",
                    "Str0ng-Passw0rd-x",
                    "wonderland-Passw0rd",
                    "Roles-are-apart-2026",
                    "Bench-Passw0rd-123",
                ],
            )
        )
    ),
]
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def secret_in(text: str) -> str | None:
    """The first secret written in `text` (a log file of a server the tests ran)."""
    for pattern in SECRET_PATTERNS:
        if found := pattern.search(text):
            return found.group(0)
    return None


def leaked(record: logging.LogRecord) -> str | None:
    """The secret in `record` (its message, its extra fields or its traceback), if any."""
    text = record.getMessage()
    text += " ".join(str(v) for k, v in vars(record).items() if k not in _STANDARD)
    if record.exc_info:
        text += logging.Formatter().formatException(record.exc_info)
    return secret_in(text)


@pytest.fixture(autouse=True, scope="session")
def _quiet_stores() -> None:
    # As `aiss serve` does (aiss/logs.py): the embedded MongoDB logs every command.
    logging.getLogger("nx_27017").setLevel(logging.WARNING)
    logging.getLogger("neosqlite").setLevel(logging.ERROR)


@pytest.fixture(autouse=True)
def _no_secrets_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every test's log records are scanned for secrets once it is done."""
    yield
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    leaks = [(r.name, secret) for r in records if (secret := leaked(r))]
    assert not leaks, f"secrets in the logs: {leaks}"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
