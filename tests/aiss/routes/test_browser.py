"""Browser logins: the refresh token in an httpOnly cookie, refreshes guarded by CSRF."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .conftest import ADMIN_PASSWORD

if TYPE_CHECKING:
    from .conftest import Api

pytestmark = pytest.mark.anyio
LOGIN = "/api/v1/auth/browser/login"


async def test_cookies_csrf_refresh_and_logout(api: Api) -> None:
    http = api.http
    http.cookies.clear()
    logged = await http.post(LOGIN, json={"username": "admin", "password": ADMIN_PASSWORD})
    assert logged.status_code == 200, logged.text
    body = logged.json()
    assert "refresh_token" not in body and body["access_token"] and body["csrf_token"]
    cookies = logged.headers.get_list("set-cookie")
    refresh = next(c for c in cookies if c.startswith("aiss_refresh="))
    assert "HttpOnly" in refresh and "SameSite=strict" in refresh
    assert "Path=/api/v1/auth/browser" in refresh
    csrf = next(c for c in cookies if c.startswith("aiss_csrf="))
    assert "HttpOnly" not in csrf
    me = await http.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["username"] == "admin"

    no_header = await http.post("/api/v1/auth/browser/refresh")
    assert no_header.status_code == 403
    wrong = await http.post("/api/v1/auth/browser/refresh", headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    renewed = await http.post(
        "/api/v1/auth/browser/refresh", headers={"X-CSRF-Token": body["csrf_token"]}
    )
    assert renewed.status_code == 200, renewed.text
    token = renewed.json()["csrf_token"]
    assert token != body["csrf_token"]

    out = await http.post("/api/v1/auth/browser/logout", headers={"X-CSRF-Token": token})
    assert out.status_code == 204
    again = await http.post("/api/v1/auth/browser/refresh", headers={"X-CSRF-Token": token})
    assert again.status_code in (401, 403)
    http.cookies.clear()


async def test_the_ui_is_served_at_the_root(api: Api) -> None:
    """`make test` builds the UI first (web/ → aiss/web/static)."""
    page = await api.http.get("/")
    assert page.status_code == 200 and "<title>AISS</title>" in page.text
    script = await api.http.get("/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert (await api.http.get("/api/v1/no-such-route")).status_code == 404  # the API comes first
