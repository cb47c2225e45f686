"""Accounts, permissions, API keys and SSH keys over HTTP, and isolation between users."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import asyncssh
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import STRONG, Api

pytestmark = pytest.mark.anyio


def fresh() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def ssh_public_key() -> str:
    return asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()


async def test_admin_manages_users(api: Api) -> None:
    admin = await api.token()
    name = fresh()
    user = await api.create_user(admin, name)
    assert user["role"] == "user" and user["active"] and user["permissions"] == []
    got = await api.call("GET", f"/users/{user['id']}", admin)
    assert got.json() == user
    changed = await api.call(
        "PUT", f"/users/{user['id']}", admin, json={"email": "new@example.org"}
    )
    assert changed.json()["email"] == "new@example.org"
    granted = await api.call(
        "PUT",
        f"/users/{user['id']}/permissions",
        admin,
        json={"area_id": "a1", "read": True, "write": True},
    )
    assert granted.json()["permissions"] == [{"area_id": "a1", "read": True, "write": True}]
    withdrawn = await api.call(
        "PUT",
        f"/users/{user['id']}/permissions",
        admin,
        json={"area_id": "a1", "read": False, "write": False},
    )
    assert withdrawn.json()["permissions"] == []
    page = await api.call("GET", "/users", admin, params={"limit": 1, "offset": 0})
    assert page.status_code == 200
    assert page.json()["limit"] == 1 and len(page.json()["items"]) == 1
    assert page.json()["total"] >= 2
    assert (await api.call("DELETE", f"/users/{user['id']}", admin)).status_code == 204
    assert (await api.call("GET", f"/users/{user['id']}", admin)).status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"username": "a", "email": "a@example.org", "password": STRONG}, 422),
        ({"username": "has space", "email": "s@example.org", "password": STRONG}, 422),
        ({"username": "okname", "email": "not-an-email", "password": STRONG}, 422),
        ({"username": "okname", "email": "o@example.org", "password": "short"}, 422),
        ({"username": "okname", "email": "o@example.org", "password": STRONG, "role": "root"}, 422),
        ({"username": "admin", "email": "x@example.org", "password": STRONG}, 409),
        ({"username": "fresh-one", "email": "admin@localhost", "password": STRONG}, 409),
    ],
)
async def test_bad_new_users_get_clear_errors(api: Api, body: dict[str, str], status: int) -> None:
    response = await api.call("POST", "/users", await api.token(), json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"] in ("validation_failed", "conflict")


async def test_missing_and_malformed_ids_are_404(api: Api) -> None:
    admin = await api.token()
    for user_id in ("000000000000000000000000", "not-an-id"):
        assert (await api.call("GET", f"/users/{user_id}", admin)).status_code == 404
        assert (await api.call("DELETE", f"/users/{user_id}", admin)).status_code == 404


async def test_the_last_admin_cannot_be_removed(api: Api) -> None:
    admin = await api.token()
    me = (await api.call("GET", "/users/me", admin)).json()
    for method, body in (("PUT", {"role": "user"}), ("PUT", {"active": False}), ("DELETE", None)):
        response = await api.call(method, f"/users/{me['id']}", admin, json=body)
        assert response.status_code == 409, response.text


async def test_users_cannot_use_admin_routes_and_strangers_nothing(api: Api) -> None:
    admin = await api.token()
    user = await api.create_user(admin, fresh())
    token = await api.token(user["username"], STRONG)
    for method, path in (
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", f"/users/{user['id']}"),
        ("PUT", f"/users/{user['id']}"),
        ("DELETE", f"/users/{user['id']}"),
        ("PUT", f"/users/{user['id']}/permissions"),
    ):
        forbidden = await api.call(method, path, token, json={})
        assert forbidden.status_code == 403, (method, path, forbidden.text)
        anonymous = await api.call(method, path, None, json={})
        assert anonymous.status_code == 401
    for header in ("Basic abc", "Bearer", "Bearer not-a-token", "Token x"):
        response = await api.http.get("/api/v1/users/me", headers={"Authorization": header})
        assert response.status_code == 401


async def test_a_user_looks_up_another_by_name_or_id_to_share_with(api: Api) -> None:
    admin = await api.token()
    me = await api.create_user(admin, fresh())
    other = await api.create_user(admin, fresh())
    token = await api.token(me["username"], STRONG)
    expected = {"id": other["id"], "username": other["username"]}
    for params in (
        {"username": other["username"]},
        {"username": other["username"].upper()},  # usernames are case-insensitive
        {"id": other["id"]},
    ):
        found = await api.call("GET", "/users/lookup", token, params=params)
        assert found.status_code == 200, found.text
        assert found.json() == expected  # no email, role or permissions
    for params in ({"username": "nobody-here"}, {"id": "000000000000000000000000"}):
        missing = await api.call("GET", "/users/lookup", token, params=params)
        assert missing.status_code == 404 and missing.json()["message"] == "no such user"
    for params in ({}, {"username": other["username"], "id": other["id"]}):
        assert (await api.call("GET", "/users/lookup", token, params=params)).status_code == 400
    bad = await api.call("GET", "/users/lookup", token, params={"id": "not-an-id"})
    assert bad.status_code == 422
    anonymous = await api.call("GET", "/users/lookup", None, params={"id": other["id"]})
    assert anonymous.status_code == 401
    # A deactivated user is not found: nothing is shared with an account that cannot log in.
    await api.call("PUT", f"/users/{other['id']}", admin, json={"active": False})
    for params in ({"username": other["username"]}, {"id": other["id"]}):
        gone = await api.call("GET", "/users/lookup", token, params=params)
        assert gone.status_code == 404


async def test_api_keys_work_as_bearer_until_deleted_or_expired(api: Api) -> None:
    admin = await api.token()
    user = await api.create_user(admin, fresh())
    token = await api.token(user["username"], STRONG)
    created = await api.call("POST", "/users/me/api-keys", token, json={"name": "ci"})
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith(key["prefix"])
    listed = (await api.call("GET", "/users/me/api-keys", token)).json()["items"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert "key" not in listed[0]
    me = await api.call("GET", "/users/me", key["key"])
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    assert (await api.call("DELETE", f"/users/me/api-keys/{key['id']}", token)).status_code == 204
    assert (await api.call("GET", "/users/me", key["key"])).status_code == 401

    short = await api.call(
        "POST", "/users/me/api-keys", token, json={"name": "brief", "expires_in_days": 0.00001}
    )
    assert short.json()["expires_at"] is not None
    await anyio.sleep(1.2)
    expired = await api.call("GET", "/users/me", short.json()["key"])
    assert expired.status_code == 401 and "expired" in expired.json()["message"]
    bad = await api.call("POST", "/users/me/api-keys", token, json={"name": ""})
    assert bad.status_code == 422


async def test_ssh_keys_are_validated_fingerprinted_and_unique(api: Api) -> None:
    admin = await api.token()
    user = await api.create_user(admin, fresh())
    token = await api.token(user["username"], STRONG)
    line = ssh_public_key()
    added = await api.call(
        "POST", "/users/me/ssh-keys", token, json={"public_key": line, "title": "laptop"}
    )
    assert added.status_code == 201
    key = added.json()
    assert key["fingerprint"].startswith("SHA256:") and key["algorithm"] == "ssh-ed25519"
    again = await api.call("POST", "/users/me/ssh-keys", admin, json={"public_key": line})
    assert again.status_code == 409
    invalid = await api.call(
        "POST", "/users/me/ssh-keys", token, json={"public_key": "ssh-rsa nope"}
    )
    assert invalid.status_code == 422
    listed = (await api.call("GET", "/users/me/ssh-keys", token)).json()["items"]
    assert [k["fingerprint"] for k in listed] == [key["fingerprint"]]
    assert (await api.call("DELETE", f"/users/me/ssh-keys/{key['id']}", token)).status_code == 204
    assert (await api.call("GET", "/users/me/ssh-keys", token)).json()["items"] == []


# -- property: one user's credentials never reach another user's things ------------------


@pytest.fixture(scope="module")
async def two_users(api: Api) -> dict[str, dict[str, Any]]:
    admin = await api.token()
    people: dict[str, dict[str, Any]] = {}
    for who in ("alice", "bob"):
        user = await api.create_user(admin, f"{who}{uuid.uuid4().hex[:6]}")
        token = await api.token(user["username"], STRONG)
        api_key = (await api.call("POST", "/users/me/api-keys", token, json={"name": who})).json()
        ssh = await api.call(
            "POST", "/users/me/ssh-keys", token, json={"public_key": ssh_public_key()}
        )
        people[who] = {
            "user": user,
            "token": token,
            "api_key": api_key,
            "ssh_key": ssh.json(),
        }
    return people


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    actor=st.sampled_from(["alice", "bob"]),
    credential=st.sampled_from(["token", "api_key"]),
    action=st.sampled_from(
        ["delete_api_key", "delete_ssh_key", "get_user", "update_user", "permissions", "list"]
    ),
)
async def test_credentials_never_reach_another_users_things(
    api: Api, two_users: dict[str, dict[str, Any]], actor: str, credential: str, action: str
) -> None:
    me = two_users[actor]
    other = two_users["bob" if actor == "alice" else "alice"]
    secret = me["token"] if credential == "token" else me["api_key"]["key"]
    if action == "delete_api_key":
        response = await api.call("DELETE", f"/users/me/api-keys/{other['api_key']['id']}", secret)
        assert response.status_code == 404
    elif action == "delete_ssh_key":
        response = await api.call("DELETE", f"/users/me/ssh-keys/{other['ssh_key']['id']}", secret)
        assert response.status_code == 404
    elif action == "get_user":
        assert (await api.call("GET", f"/users/{other['user']['id']}", secret)).status_code == 403
    elif action == "update_user":
        response = await api.call(
            "PUT", f"/users/{other['user']['id']}", secret, json={"active": False}
        )
        assert response.status_code == 403
    elif action == "permissions":
        response = await api.call(
            "PUT",
            f"/users/{other['user']['id']}/permissions",
            secret,
            json={"area_id": "a", "read": True, "write": True},
        )
        assert response.status_code == 403
    else:
        keys = (await api.call("GET", "/users/me/api-keys", secret)).json()["items"]
        ssh = (await api.call("GET", "/users/me/ssh-keys", secret)).json()["items"]
        assert [k["id"] for k in keys] == [me["api_key"]["id"]]
        assert [k["id"] for k in ssh] == [me["ssh_key"]["id"]]
        assert (await api.call("GET", "/users/me", secret)).json()["id"] == me["user"]["id"]
    # Whatever was tried, the other user's things are all still there and still theirs.
    theirs = await api.call("GET", "/users/me/api-keys", other["token"])
    assert [k["id"] for k in theirs.json()["items"]] == [other["api_key"]["id"]]
    assert (await api.call("GET", "/users/me", other["api_key"]["key"])).status_code == 200
