"""Knowledge areas over HTTP: admin writes, permission-filtered reads."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import STRONG, Api

pytestmark = pytest.mark.anyio


async def make_area(api: Api, admin: str, **fields: Any) -> dict[str, Any]:
    body = {"name": f"area {uuid.uuid4().hex[:8]}", **fields}
    response = await api.call("POST", "/areas", admin, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_admins_manage_areas(api: Api) -> None:
    admin = await api.token()
    area = await make_area(api, admin, description="Runbooks", color="#12ab34", tags=["ops"])
    assert area["active"] and area["tags"] == ["ops"] and area["color"] == "#12ab34"
    assert (await api.call("POST", "/areas", admin, json={"name": area["name"]})).status_code == 409
    changed = await api.call(
        "PUT", f"/areas/{area['id']}", admin, json={"active": False, "icon": "book"}
    )
    assert changed.json()["active"] is False and changed.json()["icon"] == "book"
    inactive = await api.call("GET", "/areas", admin, params={"active": "false"})
    assert area["id"] in [a["id"] for a in inactive.json()["items"]]

    prompt = await api.call(
        "PUT", f"/areas/{area['id']}/system-prompt", admin, json={"system_prompt": "Be terse."}
    )
    assert prompt.json() == {"system_prompt": "Be terse."}
    assert (
        await api.call("GET", f"/areas/{area['id']}/system-prompt", admin)
    ).json() == prompt.json()
    missing = await api.call(
        "PUT", f"/areas/{area['id']}/primary-llm", admin, json={"provider_id": "p1"}
    )
    assert missing.status_code == 422 and "no LLM provider" in missing.json()["message"]
    provider = await api.call(
        "POST", "/llm/providers", admin, json={"name": "area-llm", "type": "ollama", "model": "m"}
    )
    chosen = {"provider_id": provider.json()["id"]}
    llm = await api.call("PUT", f"/areas/{area['id']}/primary-llm", admin, json=chosen)
    assert llm.json() == chosen
    assert (await api.call("GET", f"/areas/{area['id']}/primary-llm", admin)).json() == chosen
    await api.call("DELETE", f"/llm/providers/{chosen['provider_id']}", admin)

    assert (await api.call("DELETE", f"/areas/{area['id']}", admin)).status_code == 204
    assert (await api.call("GET", f"/areas/{area['id']}", admin)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"name": "ok", "color": "red; drop"},
        {"name": "ok", "tags": ["t"] * 21},
    ],
)
async def test_bad_areas_are_422(api: Api, body: dict[str, Any]) -> None:
    response = await api.call("POST", "/areas", await api.token(), json=body)
    assert response.status_code == 422


async def test_reads_follow_permissions_and_writes_need_an_admin(api: Api) -> None:
    admin = await api.token()
    visible, hidden = await make_area(api, admin), await make_area(api, admin)
    member = await api.create_user(admin, f"m{uuid.uuid4().hex[:8]}")
    await api.call(
        "PUT",
        f"/users/{member['id']}/permissions",
        admin,
        json={"area_id": visible["id"], "read": True, "write": False},
    )
    token = await api.token(member["username"], STRONG)
    listed = (await api.call("GET", "/areas", token)).json()["items"]
    assert [a["id"] for a in listed] == [visible["id"]]
    assert (await api.call("GET", f"/areas/{visible['id']}", token)).status_code == 200
    assert (await api.call("GET", f"/areas/{hidden['id']}", token)).status_code == 404
    assert (await api.call("GET", f"/areas/{hidden['id']}/system-prompt", token)).status_code == 404
    for method, path, body in (
        ("POST", "/areas", {"name": "mine"}),
        ("PUT", f"/areas/{visible['id']}", {"name": "renamed"}),
        ("DELETE", f"/areas/{visible['id']}", None),
        ("PUT", f"/areas/{visible['id']}/system-prompt", {"system_prompt": "x"}),
        ("PUT", f"/areas/{visible['id']}/primary-llm", {"provider_id": "x"}),
    ):
        assert (await api.call(method, path, token, json=body)).status_code == 403
    assert (await api.call("GET", "/areas", None)).status_code == 401


async def test_an_area_holding_documents_cannot_be_deleted(api: Api) -> None:
    admin = await api.token()
    area = await make_area(api, admin)
    upload = await api.http.post(
        "/api/v1/documents",
        files={"file": ("n.txt", b"a note in an area")},
        data={"scope": "shared", "area_id": area["id"]},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert upload.status_code == 202
    refused = await api.call("DELETE", f"/areas/{area['id']}", admin)
    assert refused.status_code == 409 and "holds 1 documents" in refused.json()["message"]
    assert (await api.call("GET", "/areas/not-an-id", admin)).status_code == 404
