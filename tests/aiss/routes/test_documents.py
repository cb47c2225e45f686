"""Documents over HTTP: upload, progress, reading, search, deletion and isolation."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiss.storage.models import ChunkRecord

from ..documents.files import docx_file, pdf
from .conftest import STRONG, Api, documented_events

if TYPE_CHECKING:
    import httpx

pytestmark = pytest.mark.anyio

GUIDE = (
    b"# Supervisors\n\nA supervisor restarts the children that crash.\n\n"
    b"## Strategies\n\nOne for all restarts every child when one of them fails.\n"
)


async def upload(
    api: Api, token: str, data: bytes, name: str = "guide.md", **fields: str
) -> httpx.Response:
    return await api.http.post(
        "/api/v1/documents",
        files={"file": (name, data, "application/octet-stream")},
        data=fields,
        headers={"Authorization": f"Bearer {token}"},
    )


async def ready(api: Api, token: str, document_id: str) -> dict[str, Any]:
    with anyio.fail_after(60):
        while True:
            body: dict[str, Any] = (
                await api.call("GET", f"/documents/{document_id}", token)
            ).json()
            if body["status"] in ("ready", "failed"):
                return body
            await anyio.sleep(0.1)


async def new_area(api: Api, admin: str) -> str:
    response = await api.call(
        "POST", "/areas", admin, json={"name": f"area {uuid.uuid4().hex[:8]}"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def user(
    api: Api, admin: str, area_rights: dict[str, tuple[bool, bool]] | None = None
) -> tuple[dict[str, Any], str]:
    created = await api.create_user(admin, f"u{uuid.uuid4().hex[:8]}")
    for area, (read, write) in (area_rights or {}).items():
        await api.call(
            "PUT",
            f"/users/{created['id']}/permissions",
            admin,
            json={"area_id": area, "read": read, "write": write},
        )
    return created, await api.token(created["username"], STRONG)


async def test_upload_ingest_read_and_delete(api: Api) -> None:
    admin = await api.token()
    _me, token = await user(api, admin)
    accepted = await upload(api, token, GUIDE, tags="actors, docs", title="The guide")
    assert accepted.status_code == 202, accepted.text
    document_id = accepted.json()["id"]
    assert accepted.json()["status"] == "queued"
    doc = await ready(api, token, document_id)
    assert doc["status"] == "ready" and doc["percent"] == 100
    assert doc["media_type"] == "text/markdown" and doc["title"] == "The guide"
    assert doc["tags"] == ["actors", "docs"] and doc["chunk_count"] == 2

    chunks = (await api.call("GET", f"/documents/{document_id}/chunks", token)).json()
    assert chunks["total"] == 2
    assert chunks["items"][1]["headings"] == ["Supervisors", "Strategies"]
    original = await api.call("GET", f"/documents/{document_id}/content", token)
    assert original.content == GUIDE
    assert original.headers["content-type"].startswith("text/markdown")
    assert original.headers["content-disposition"].startswith('attachment; filename="guide.md"')
    redirect = await api.call(
        "GET", f"/documents/{document_id}/content", token, params={"redirect": "true"}
    )
    assert redirect.status_code == 307

    hits = (
        await api.call("POST", "/search", token, json={"query": "what restarts every child?"})
    ).json()["hits"]
    assert hits[0]["document_id"] == document_id and "every child" in hits[0]["text"]
    assert hits[0]["title"] == "The guide"
    tagged = await api.call("POST", "/search", token, json={"query": "child", "tags": ["nope"]})
    assert tagged.json()["hits"] == []

    again = await upload(api, token, GUIDE)
    assert again.json() == {"id": document_id, "status": "ready", "duplicate": True}

    patched = await api.call(
        "PATCH", f"/documents/{document_id}", token, json={"title": "Renamed", "tags": ["x"]}
    )
    assert patched.json()["title"] == "Renamed" and patched.json()["tags"] == ["x"]
    listed = await api.call("GET", "/documents", token, params={"q": "renam", "tag": "x"})
    assert [d["id"] for d in listed.json()["items"]] == [document_id]

    assert (await api.call("DELETE", f"/documents/{document_id}", token)).status_code == 204
    assert (await api.call("GET", f"/documents/{document_id}", token)).status_code == 404
    assert await ChunkRecord.find(ChunkRecord.document_id == document_id).count() == 0
    after = await api.call("POST", "/search", token, json={"query": "what restarts every child?"})
    assert all(h["document_id"] != document_id for h in after.json()["hits"])


async def test_pdf_pages_and_docx_headings_come_through(api: Api) -> None:
    token = await api.token()
    pdf_id = (await upload(api, token, pdf(["page one text", "page two text"]), "a.pdf")).json()[
        "id"
    ]
    docx_id = (await upload(api, token, docx_file({"Intro": ["hello docx"]}), "b.docx")).json()[
        "id"
    ]
    assert (await ready(api, token, pdf_id))["pages"] == 2
    await ready(api, token, docx_id)
    pages = [
        c["page"]
        for c in (await api.call("GET", f"/documents/{pdf_id}/chunks", token)).json()["items"]
    ]
    assert pages == [1, 2]
    heads = (await api.call("GET", f"/documents/{docx_id}/chunks", token)).json()["items"][0][
        "headings"
    ]
    assert heads == ["Intro"]


async def test_broken_files_fail_with_a_reason_and_nothing_indexed(api: Api) -> None:
    token = await api.token()
    broken = await upload(api, token, b"%PDF-1.4\nnot really a pdf", "bad.pdf")
    doc = await ready(api, token, broken.json()["id"])
    assert doc["status"] == "failed" and "cannot be read" in doc["error"]
    assert doc["chunk_count"] == 0
    chunks = await api.call("GET", f"/documents/{doc['id']}/chunks", token)
    assert chunks.json()["total"] == 0


@pytest.mark.parametrize(
    ("data", "fields", "status"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", {}, 415),
        (b"", {}, 422),
        (GUIDE, {"scope": "shared"}, 422),
        (GUIDE, {"scope": "personal", "area_id": "a"}, 422),
        (GUIDE, {"scope": "elsewhere"}, 422),
        (GUIDE, {"title": "t" * 201}, 422),
        (GUIDE, {"tags": ",".join(f"t{i}" for i in range(21))}, 422),
    ],
)
async def test_bad_uploads_get_clear_errors(
    api: Api, data: bytes, fields: dict[str, str], status: int
) -> None:
    response = await upload(api, await api.token(), data, **fields)
    assert response.status_code == status, response.text
    assert response.json()["message"]


async def test_uploads_without_a_file_or_not_multipart(api: Api) -> None:
    token = await api.token()
    no_file = await api.http.post(
        "/api/v1/documents", data={"title": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert no_file.status_code in (415, 422)
    as_json = await api.call("POST", "/documents", token, json={"file": "x"})
    assert as_json.status_code == 415


async def test_shared_documents_need_an_existing_active_area(api: Api) -> None:
    admin = await api.token()
    missing = await upload(api, admin, GUIDE + b"\nnowhere", scope="shared", area_id="no-such-area")
    assert missing.status_code == 422 and "no active area" in missing.json()["message"]
    area = await new_area(api, admin)
    await api.call("PUT", f"/areas/{area}", admin, json={"active": False})
    closed = await upload(api, admin, GUIDE + b"\nclosed", scope="shared", area_id=area)
    assert closed.status_code == 422


async def test_shared_documents_need_write_permission(api: Api) -> None:
    admin = await api.token()
    area = await new_area(api, admin)
    _, reader = await user(api, admin, {area: (True, False)})
    refused = await upload(api, reader, GUIDE, scope="shared", area_id=area)
    assert refused.status_code == 403
    _, writer = await user(api, admin, {area: (True, True)})
    accepted = await upload(api, writer, GUIDE + b"\nwriter copy", scope="shared", area_id=area)
    assert accepted.status_code == 202
    document_id = accepted.json()["id"]
    await ready(api, writer, document_id)
    assert (await api.call("GET", f"/documents/{document_id}", reader)).status_code == 200
    assert (
        await api.call("PATCH", f"/documents/{document_id}", reader, json={"title": "no"})
    ).status_code == 403
    assert (await api.call("DELETE", f"/documents/{document_id}", reader)).status_code == 403


async def test_progress_streams_as_server_sent_events(api: Api) -> None:
    admin = await api.token()
    _, token = await user(api, admin)
    _, stranger = await user(api, admin)
    seen: dict[str, list[dict[str, Any]]] = {"me": [], "stranger": []}

    connected = {"me": anyio.Event(), "stranger": anyio.Event()}
    check = await documented_events(api, "/api/v1/events", "get")

    async def listen(who: str, secret: str, stop: anyio.Event) -> None:
        headers = {"Authorization": f"Bearer {secret}"}
        async with api.http.stream("GET", "/api/v1/events", headers=headers) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            kind = ""
            async for line in response.aiter_lines():
                if line.startswith(": connected"):
                    connected[who].set()
                if line.startswith("event: "):
                    kind = line[7:]
                if line.startswith("data: "):
                    seen[who].append(json.loads(line[6:]))
                    check(kind, seen[who][-1])
                    if seen[who][-1]["stage"] in ("ready", "failed"):
                        stop.set()
                        return

    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(listen, "me", token, stop)
        tg.start_soon(listen, "stranger", stranger, anyio.Event())
        with anyio.fail_after(10):
            await connected["me"].wait()
            await connected["stranger"].wait()
        document_id = (await upload(api, token, GUIDE + b"\nsse")).json()["id"]
        with anyio.fail_after(60):
            await stop.wait()
        await anyio.sleep(0.2)
        tg.cancel_scope.cancel()
    stages = [e["stage"] for e in seen["me"] if e["document_id"] == document_id]
    assert stages[0] == "queued" and stages[-1] == "ready"
    assert {"extracting", "chunking", "embedding"} <= set(stages)
    assert seen["stranger"] == []


# -- property: nobody sees what they may not read -------------------------------------


@pytest.fixture(scope="module")
async def world(api: Api) -> dict[str, Any]:
    admin = await api.token()
    area_a, area_b = await new_area(api, admin), await new_area(api, admin)
    _alice, alice_token = await user(api, admin, {area_a: (True, True)})
    _bob, bob_token = await user(api, admin, {area_a: (True, False)})
    _carol, carol_token = await user(api, admin)
    plan = {
        "alice-personal": (alice_token, b"alice private note about zebras", ""),
        "bob-personal": (bob_token, b"bob private note about zebras", ""),
        "area-a": (alice_token, b"shared note about zebras in area a", area_a),
        "area-b": (admin, b"shared note about zebras in area b", area_b),
    }
    ids = {}
    for name, (owner, data, area) in plan.items():
        fields = {"scope": "shared", "area_id": area} if area else {}
        ids[name] = (await upload(api, owner, data, **fields)).json()["id"]
        await ready(api, owner, ids[name])
    return {
        "tokens": {"alice": alice_token, "bob": bob_token, "carol": carol_token},
        "ids": ids,
        "may_read": {
            "alice": {"alice-personal", "area-a"},
            "bob": {"bob-personal", "area-a"},
            "carol": set(),
        },
    }


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    who=st.sampled_from(["alice", "bob", "carol"]),
    action=st.sampled_from(["list", "get", "chunks", "content", "search"]),
    target=st.sampled_from(["alice-personal", "bob-personal", "area-a", "area-b"]),
    scope=st.sampled_from([None, "personal", "shared"]),
)
async def test_nobody_sees_what_they_may_not_read(
    api: Api, world: dict[str, Any], who: str, action: str, target: str, scope: str | None
) -> None:
    token = world["tokens"][who]
    allowed: set[str] = world["may_read"][who]
    names = {v: k for k, v in world["ids"].items()}
    document_id = world["ids"][target]
    if action == "list":
        params = {"scope": scope} if scope else {}
        listed = (await api.call("GET", "/documents", token, params=params)).json()["items"]
        assert {names[d["id"]] for d in listed if d["id"] in names} <= allowed
    elif action == "search":
        body: dict[str, Any] = {"query": "note about zebras", "limit": 50}
        if scope:
            body["scope"] = scope
        hits = (await api.call("POST", "/search", token, json=body)).json()["hits"]
        assert {names[h["document_id"]] for h in hits if h["document_id"] in names} <= allowed
    else:
        path = {"get": "", "chunks": "/chunks", "content": "/content"}[action]
        response = await api.call("GET", f"/documents/{document_id}{path}", token)
        assert response.status_code == (200 if target in allowed else 404)


async def test_admins_reindex_and_searches_follow(api: Api) -> None:
    admin = await api.token()
    _, token = await user(api, admin)
    document_id = (await upload(api, token, b"unique words: quokka marmot")).json()["id"]
    await ready(api, token, document_id)
    assert (
        await api.call("POST", "/admin/reindex", token, json={"scope": "personal"})
    ).status_code == 403
    rebuilt = await api.call("POST", "/admin/reindex", admin, json={"scope": "personal"})
    assert rebuilt.status_code == 200, rebuilt.text
    assert rebuilt.json()["documents"] >= 1
    hits = (await api.call("POST", "/search", token, json={"query": "quokka marmot"})).json()[
        "hits"
    ]
    assert hits[0]["document_id"] == document_id
    bad = await api.call("POST", "/admin/reindex", admin, json={"scope": "everything"})
    assert bad.status_code == 422
