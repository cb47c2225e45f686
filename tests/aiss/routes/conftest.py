from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from jsonschema import Draft202012Validator

from aiss.app import create_app
from aiss.config import Settings

from ...servers import serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    import httpx

ADMIN_PASSWORD = "Admin-Passw0rd-for-tests"
STRONG = "Str0ng-Passw0rd-x"


def app_settings(data: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "AISS_DATA_DIR": str(data),
            "ADMIN_INITIAL_PASSWORD": ADMIN_PASSWORD,
            "AISS_ARGON2_TIME_COST": "1",
            "AISS_ARGON2_MEMORY": "8MiB",
            "AISS_LOGIN_RATE_LIMIT": "10000/1m",
            "AISS_SSH_PORT": "0",  # the gateway's tests choose a port
            **env,
        },
        env_file=None,
    )


@dataclass
class Api:
    """A client of the real server, with the helpers the tests share."""

    http: httpx.AsyncClient

    async def login(self, username: str, password: str) -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def token(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        return str((await self.login(username, password))["access_token"])

    async def call(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    async def create_user(self, admin: str, username: str, role: str = "user") -> dict[str, Any]:
        response = await self.call(
            "POST",
            "/users",
            admin,
            json={
                "username": username,
                "email": f"{username}@example.org",
                "password": STRONG,
                "role": role,
            },
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


async def documented_events(
    api: Api, path: str, method: str = "post"
) -> Callable[[str, Any], None]:
    """A check that a server-sent event is one /openapi.json documents, with data to match."""
    document = (await api.http.get("/openapi.json")).json()
    answer = document["paths"][path][method]["responses"]["200"]
    events = answer["content"]["text/event-stream"]["x-events"]

    def check(kind: str, data: Any) -> None:
        assert kind in events, f"the event {kind!r} is not documented"
        # The component schemas travel with the event's so that its $refs resolve.
        schema = {**events[kind]["schema"], "components": document["components"]}
        Draft202012Validator(schema).validate(data)

    return check


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    settings = app_settings(tmp_path_factory.mktemp("app"))
    async with serving(create_app(settings)) as http:
        yield Api(http)
