"""Questions over the knowledge: extractive answers with numbered sources, SSE, history."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from .conftest import STRONG, Api
from .test_documents import ready, upload

pytestmark = pytest.mark.anyio
FACT = b"The supervisor of the billing service is named Orwell and restarts it within two seconds."


async def person(api: Api) -> tuple[dict[str, Any], str]:
    admin = await api.token()
    created = await api.create_user(admin, f"r{uuid.uuid4().hex[:8]}")
    return created, await api.token(created["username"], STRONG)


async def test_extractive_answers_cite_only_what_the_asker_may_read(api: Api) -> None:
    _, alice = await person(api)
    _, bob = await person(api)
    document_id = (await upload(api, alice, FACT, "billing.txt")).json()["id"]
    await ready(api, alice, document_id)

    response = await api.call(
        "POST", "/rag/query", alice, json={"question": "Who supervises billing?"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "extractive" and body["provider"] is None
    assert body["sources"][0]["n"] == 1 and body["sources"][0]["document_id"] == document_id
    assert "[1]" in body["answer"] and "Orwell" in body["answer"]
    assert body["query_id"]

    others = await api.call("POST", "/rag/query", bob, json={"question": "Who supervises billing?"})
    assert all(s["document_id"] != document_id for s in others.json()["sources"])

    shared_only = await api.call(
        "POST",
        "/rag/query",
        alice,
        json={"question": "Who supervises billing?", "include_personal": False},
    )
    assert all(s["document_id"] != document_id for s in shared_only.json()["sources"])

    history = (await api.call("GET", "/rag/history", alice)).json()
    assert history["items"][0]["question"] == "Who supervises billing?"
    one = await api.call("GET", f"/rag/history/{body['query_id']}", alice)
    assert one.status_code == 200 and one.json()["answer"] == body["answer"]
    assert (await api.call("GET", f"/rag/history/{body['query_id']}", bob)).status_code == 404
    assert [i["id"] for i in (await api.call("GET", "/rag/history", bob)).json()["items"]] != [
        body["query_id"]
    ]


async def test_answers_stream_as_server_sent_events(api: Api) -> None:
    _, token = await person(api)
    document_id = (await upload(api, token, FACT + b" (stream)", "s.txt")).json()["id"]
    await ready(api, token, document_id)
    events: list[tuple[str, Any]] = []
    async with api.http.stream(
        "POST",
        "/api/v1/rag/query",
        json={"question": "Who supervises billing?"},
        headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    kinds = [k for k, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "done" and "token" in kinds
    assert events[0][1][0]["document_id"] == document_id
    text = "".join(data["text"] for k, data in events if k == "token")
    assert "Orwell" in text
    assert events[-1][1]["query_id"]


@pytest.mark.parametrize(
    "body",
    [
        {"question": ""},
        {"question": "x", "max_sources": 0},
        {"question": "x", "temperature": 5},
        {},
    ],
)
async def test_bad_questions_are_422(api: Api, body: dict[str, Any]) -> None:
    _, token = await person(api)
    assert (await api.call("POST", "/rag/query", token, json=body)).status_code == 422


async def test_history_ids_that_do_not_exist_are_404(api: Api) -> None:
    _, token = await person(api)
    for query_id in ("not-an-id", "000000000000000000000000"):
        assert (await api.call("GET", f"/rag/history/{query_id}", token)).status_code == 404
