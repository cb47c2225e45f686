"""Which sandbox runs, what happens when none does, and who gets a local shell then."""

from __future__ import annotations

import os
import re
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest

from aiss.app import create_app

from ...servers import serving
from ..routes.conftest import Api, app_settings
from ..routes.terminal_client import attached
from ..routes.test_documents import user

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(os.geteuid() != 0, reason="the uid backend needs root"),
]
NO_BWRAP = "/nonexistent/bwrap"


@asynccontextmanager
async def app(data: Path, **env: str) -> AsyncIterator[Api]:
    async with serving(create_app(app_settings(data, **env))) as http:
        yield Api(http)


async def capabilities(api: Api, token: str) -> dict[str, Any]:
    body: dict[str, Any] = (await api.call("GET", "/terminal/capabilities", token)).json()
    return body


async def shell_uid(api: Api, token: str) -> int:
    response = await api.call(
        "POST", "/terminal/sessions", token, json={"target": {"type": "local"}}
    )
    assert response.status_code == 201, response.text
    session = response.json()
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        await term.type(b"echo uid=$(id -u)=\r")
        found = await term.expect(rb"uid=(\d+)=")
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)
    return int(found.group(1))


async def refused(api: Api, token: str) -> str:
    response = await api.call(
        "POST", "/terminal/sessions", token, json={"target": {"type": "local"}}
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/json")
    return str(response.json()["message"])


async def test_without_bubblewrap_auto_drops_to_a_uid_of_the_range(tmp_path: Path) -> None:
    async with app(tmp_path, AISS_TERMINAL_BWRAP=NO_BWRAP) as api:
        admin = await api.token()
        _, token = await user(api, admin)
        found = await capabilities(api, token)
        assert found["sandbox"] == "uid" and found["local"] == "all" and found["local_for_you"]
        assert "not installed" in found["not_available"]["bwrap"]
        assert 1879048192 <= await shell_uid(api, token) < 1879113727
        ready = (await api.http.get("/ready")).json()
        assert ready["details"] == {"terminal_sandbox": "uid"}


async def test_with_no_sandbox_only_administrators_get_a_shell(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)  # the shells' uids cannot reach homes in here
    env = {"AISS_TERMINAL_BWRAP": NO_BWRAP, "AISS_TERMINAL_HOMES": str(closed / "homes")}
    async with app(tmp_path / "data", **env) as api:
        admin = await api.token()
        _, token = await user(api, admin)
        found = await capabilities(api, token)
        assert found["sandbox"] is None and found["local"] == "admin"
        assert not found["local_for_you"] and set(found["not_available"]) == {"bwrap", "uid"}
        assert "AISS_TERMINAL_LOCAL" in await refused(api, token)
        assert (await capabilities(api, admin))["local_for_you"]
        assert await shell_uid(api, admin) == os.getuid()


async def test_a_sandbox_is_required_even_when_everyone_may_open_shells(tmp_path: Path) -> None:
    env = {"AISS_TERMINAL_SANDBOX": "bwrap", "AISS_TERMINAL_BWRAP": NO_BWRAP}
    async with app(tmp_path, AISS_TERMINAL_LOCAL="all", **env) as api:
        _, token = await user(api, await api.token())
        message = await refused(api, token)
        assert "AISS_TERMINAL_SANDBOX=bwrap" in message and "not installed" in message


async def test_none_is_for_administrators_alone(tmp_path: Path) -> None:
    async with app(tmp_path, AISS_TERMINAL_SANDBOX="none", AISS_TERMINAL_LOCAL="all") as api:
        admin = await api.token()
        _, token = await user(api, admin)
        assert (await capabilities(api, token))["sandbox"] == "none"
        assert re.search(r"AISS_TERMINAL_SANDBOX=none", await refused(api, token))
        assert await shell_uid(api, admin) == os.getuid()


async def test_bubblewrap_is_chosen_where_it_runs(tmp_path: Path) -> None:
    async with app(tmp_path) as api:
        _, token = await user(api, await api.token())
        found = await capabilities(api, token)
        assert found["sandbox"] == "bwrap" and found["not_available"] == {}
        assert found["limits"]["processes"] == 256
        assert await shell_uid(api, token) == 1000
