"""Login limits and timing, each on a server of its own settings.

beanie binds its models to one database per process, so these servers run in
their own module, after the shared one of the other modules has stopped.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING

import pytest

from aiss.app import create_app
from aiss.storage.models import AuthEvent

from ...servers import serving
from .conftest import ADMIN_PASSWORD, app_settings

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio


async def test_login_attempts_are_limited_per_user_and_per_client(tmp_path: Path) -> None:
    settings = app_settings(tmp_path, AISS_LOGIN_RATE_LIMIT="3/1m")
    async with serving(create_app(settings)) as http:
        attempt = {"username": "admin", "password": "wrong-wrong-wrong"}
        for _ in range(3):
            assert (await http.post("/api/v1/auth/login", json=attempt)).status_code == 401
        limited = await http.post("/api/v1/auth/login", json=attempt)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # The right password is refused too while the limit holds.
        right = {"username": "admin", "password": ADMIN_PASSWORD}
        assert (await http.post("/api/v1/auth/login", json=right)).status_code == 429
        # Other usernames from the same address hit the per-client limit.
        other = await http.post("/api/v1/auth/login", json={"username": "x", "password": "y"})
        assert other.status_code == 429
        assert await AuthEvent.find(AuthEvent.kind == "login_limited").count() >= 1


async def test_unknown_users_take_as_long_as_wrong_passwords(tmp_path: Path) -> None:
    """The bound: medians within a factor of 1.5 of each other, at the default argon2 cost."""
    settings = app_settings(tmp_path, AISS_ARGON2_TIME_COST="3", AISS_ARGON2_MEMORY="64MiB")
    async with serving(create_app(settings)) as http:

        async def timed(username: str) -> float:
            started = time.perf_counter()
            response = await http.post(
                "/api/v1/auth/login", json={"username": username, "password": "Wrong-passw0rd!"}
            )
            assert response.status_code == 401
            return time.perf_counter() - started

        known, unknown = [], []
        for _ in range(8):
            known.append(await timed("admin"))
            unknown.append(await timed("ghost"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.67 < ratio < 1.5, (statistics.median(known), statistics.median(unknown))
