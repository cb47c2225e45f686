"""Logins, refresh rotation, logout and every revocation path, over HTTP."""

from __future__ import annotations

import uuid

import pytest

from aiss.storage.models import AuthEvent

from .conftest import ADMIN_PASSWORD, STRONG, Api

pytestmark = pytest.mark.anyio


def fresh() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


async def test_login_gives_a_bearer_pair_that_works(api: Api) -> None:
    pair = await api.login("admin", ADMIN_PASSWORD)
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 1800
    me = await api.call("GET", "/users/me", pair["access_token"])
    assert me.status_code == 200
    assert me.json()["username"] == "admin"
    assert (await api.call("GET", "/users/me", pair["refresh_token"])).status_code == 401


async def test_unknown_user_and_wrong_password_get_the_same_answer(api: Api) -> None:
    wrong = await api.http.post(
        "/api/v1/auth/login", json={"username": "admin", "password": "nope-nope-nope"}
    )
    unknown = await api.http.post(
        "/api/v1/auth/login", json={"username": "nobody", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": "unauthorized",
            "message": "wrong username or password",
        }
    )
    assert wrong.headers["www-authenticate"] == 'Bearer realm="aiss"'


async def test_refresh_rotates_and_reuse_revokes_the_family(api: Api) -> None:
    first = await api.login("admin", ADMIN_PASSWORD)
    rotate = await api.call("POST", "/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotate.status_code == 200
    second = rotate.json()
    assert second["refresh_token"] != first["refresh_token"]
    # The rotated token presented again: reuse. The whole family is revoked.
    reuse = await api.call("POST", "/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert "reused" in reuse.json()["message"]
    later = await api.call("POST", "/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert later.status_code == 401
    events = await AuthEvent.find(AuthEvent.kind == "refresh_reuse").count()
    assert events >= 1


async def test_logout_ends_the_login(api: Api) -> None:
    pair = await api.login("admin", ADMIN_PASSWORD)
    body = {"refresh_token": pair["refresh_token"]}
    assert (await api.call("POST", "/auth/logout", json=body)).status_code == 204
    assert (await api.call("POST", "/auth/refresh", json=body)).status_code == 401
    garbage = await api.call("POST", "/auth/logout", json={"refresh_token": "x.y.z"})
    assert garbage.status_code == 401


async def test_a_password_change_revokes_every_token(api: Api) -> None:
    admin = await api.token()
    name = fresh()
    await api.create_user(admin, name)
    pair = await api.login(name, STRONG)
    access = pair["access_token"]
    wrong = await api.call(
        "PUT",
        "/users/me/password",
        access,
        json={"current_password": "not-it-at-all", "new_password": "An0ther-Str0ng-one"},
    )
    assert wrong.status_code == 403
    weak = await api.call(
        "PUT",
        "/users/me/password",
        access,
        json={"current_password": STRONG, "new_password": "weak"},
    )
    assert weak.status_code == 422
    changed = await api.call(
        "PUT",
        "/users/me/password",
        access,
        json={"current_password": STRONG, "new_password": "An0ther-Str0ng-one"},
    )
    assert changed.status_code == 204
    assert (await api.call("GET", "/users/me", access)).status_code == 401
    refresh = await api.call("POST", "/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refresh.status_code == 401
    assert (await api.login(name, "An0ther-Str0ng-one"))["access_token"]
    assert await AuthEvent.find(AuthEvent.kind == "password_changed").count() >= 1


@pytest.mark.parametrize("change", [{"active": False}, {"role": "admin"}])
async def test_deactivation_and_role_changes_revoke_at_once(
    api: Api, change: dict[str, object]
) -> None:
    admin = await api.token()
    user = await api.create_user(admin, fresh())
    pair = await api.login(user["username"], STRONG)
    assert (await api.call("GET", "/users/me", pair["access_token"])).status_code == 200
    updated = await api.call("PUT", f"/users/{user['id']}", admin, json=change)
    assert updated.status_code == 200
    assert (await api.call("GET", "/users/me", pair["access_token"])).status_code == 401
    body = {"refresh_token": pair["refresh_token"]}
    assert (await api.call("POST", "/auth/refresh", json=body)).status_code == 401
