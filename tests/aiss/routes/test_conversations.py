"""Conversations over HTTP: their turns, follow-ups retrieved with context, ownership."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import documented_events
from .test_documents import ready, upload, user

if TYPE_CHECKING:
    import httpx

    from .conftest import Api

pytestmark = pytest.mark.anyio
RSYNC = (
    b"Backups with rsync.\n\n"
    b"rsync copies a directory to a backup server over SSH: rsync -a /srv/data/ backup:/srv/."
    b" The -a option keeps permissions, owners and times. Add --delete to also remove files on"
    b" the backup server that are gone from the source directory, so the copy is a mirror.\n"
)
FIND = (
    b"Deleting files with find.\n\n"
    b"How do I delete files? The find command can delete the files it matches: add -delete,"
    b" as in find /tmp -name '*.tmp' -delete. To delete old files, add -mtime +30; to delete"
    b" empty files, add -empty. Always run it once without -delete to see what it would"
    b" delete.\n"
)
FIRST = "How do I copy a directory to a backup server with rsync?"
FOLLOW_UP = "And how do I make it also delete files?"


async def tools(api: Api) -> tuple[str, str, str]:
    """A new user with the two documents: their token, the rsync one's id, the find one's."""
    _, token = await user(api, await api.token())
    ids = []
    for body, name in ((RSYNC, "rsync.txt"), (FIND, "find.txt")):
        ids.append((await upload(api, token, body, name)).json()["id"])
        assert (await ready(api, token, ids[-1]))["status"] == "ready"
    return token, ids[0], ids[1]


async def conversation(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    created = await api.call("POST", "/conversations", token, json=fields)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def ask(api: Api, token: str, conversation_id: str, **body: Any) -> httpx.Response:
    return await api.call("POST", f"/conversations/{conversation_id}/messages", token, json=body)


@pytest.mark.parametrize("mode", [None, "dense", "hybrid"])
async def test_a_follow_up_is_answered_from_the_document_of_the_conversation(
    api: Api, mode: str | None
) -> None:
    token, rsync, find = await tools(api)
    options = {"mode": mode} if mode else {}
    # Alone, the follow-up is about deleting files: the find document answers it.
    alone = await api.call("POST", "/rag/query", token, json={"question": FOLLOW_UP, **options})
    assert alone.json()["sources"][0]["document_id"] == find

    talk = await conversation(api, token)
    first = await ask(api, token, talk["id"], question=FIRST, **options)
    assert first.status_code == 200, first.text
    assert first.json()["sources"][0]["document_id"] == rsync
    assert first.json()["conversation_id"] == talk["id"]
    followed = await ask(api, token, talk["id"], question=FOLLOW_UP, **options)
    assert followed.status_code == 200, followed.text
    body = followed.json()
    assert body["mode"] == "extractive" and body["standalone_question"] is None
    assert body["sources"][0]["document_id"] == rsync
    assert "--delete" in body["answer"] and "[1]" in body["answer"]

    stored = (await api.call("GET", f"/conversations/{talk['id']}", token)).json()
    assert stored["title"] == FIRST and stored["message_count"] == 2
    turns = stored["messages"]
    assert [m["question"] for m in turns] == [FIRST, FOLLOW_UP]
    assert [m["query_id"] for m in turns] == [first.json()["query_id"], body["query_id"]]
    assert turns[1]["answer"] == body["answer"] and turns[1]["sources"] == body["sources"]
    assert turns[1]["search_mode"] == mode and turns[1]["created_at"]
    history = (await api.call("GET", f"/rag/history/{body['query_id']}", token)).json()
    assert history["conversation_id"] == talk["id"]


async def test_messages_stream_as_server_sent_events(api: Api) -> None:
    token, rsync, _ = await tools(api)
    talk = await conversation(api, token, title="Backups")
    events: list[tuple[str, Any]] = []
    async with api.http.stream(
        "POST",
        f"/api/v1/conversations/{talk['id']}/messages",
        json={"question": FIRST},
        headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    assert events[0][0] == "sources" and events[-1][0] == "done"
    check = await documented_events(api, "/api/v1/conversations/{conversation_id}/messages")
    for kind, data in events:
        check(kind, data)
    assert events[0][1][0]["document_id"] == rsync
    done = events[-1][1]
    assert done["conversation_id"] == talk["id"]
    stored = (await api.call("GET", f"/conversations/{talk['id']}", token)).json()
    assert stored["title"] == "Backups"  # a title given stays
    assert [m["query_id"] for m in stored["messages"]] == [done["query_id"]]


async def test_conversations_are_listed_changed_and_deleted_with_their_turns(api: Api) -> None:
    admin = await api.token()
    _, token = await user(api, admin)
    older = await conversation(api, token, title="older")
    newer = await conversation(api, token, title="newer", area_ids=[], include_personal=True)
    listed = (await api.call("GET", "/conversations", token)).json()
    assert [c["id"] for c in listed["items"]] == [newer["id"], older["id"]]
    assert listed["total"] == 2 and listed["offset"] == 0
    paged = (await api.call("GET", "/conversations?offset=1&limit=1", token)).json()
    assert [c["id"] for c in paged["items"]] == [older["id"]]

    asked = await ask(api, token, older["id"], question="anything at all?")
    assert asked.status_code == 200, asked.text
    # A question moves its conversation up.
    listed = (await api.call("GET", "/conversations", token)).json()
    assert [c["id"] for c in listed["items"]] == [older["id"], newer["id"]]

    change = {"title": "renamed", "area_ids": ["000000000000000000000000"]}
    changed = await api.call("PATCH", f"/conversations/{older['id']}", token, json=change)
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "renamed" and changed.json()["area_ids"] == change["area_ids"]
    assert changed.json()["include_personal"] is True
    again = (await api.call("GET", f"/conversations/{older['id']}", token)).json()
    assert again["title"] == "renamed" and again["area_ids"] == change["area_ids"]

    query_id = asked.json()["query_id"]
    assert (await api.call("DELETE", f"/conversations/{older['id']}", token)).status_code == 204
    assert (await api.call("GET", f"/conversations/{older['id']}", token)).status_code == 404
    assert (await api.call("GET", f"/rag/history/{query_id}", token)).status_code == 404
    assert (await api.call("DELETE", f"/conversations/{older['id']}", token)).status_code == 404
    listed = (await api.call("GET", "/conversations", token)).json()
    assert [c["id"] for c in listed["items"]] == [newer["id"]]


async def test_only_the_owner_reaches_a_conversation(api: Api) -> None:
    admin = await api.token()
    _, owner = await user(api, admin)
    _, stranger = await user(api, admin)
    talk = await conversation(api, owner, title="mine")
    one = f"/conversations/{talk['id']}"
    for token in (stranger, admin):
        assert (await api.call("GET", one, token)).status_code == 404
        patched = await api.call("PATCH", one, token, json={"title": "theirs"})
        assert patched.status_code == 404 and patched.json()["error"] == "not_found"
        assert (await api.call("DELETE", one, token)).status_code == 404
        assert (await ask(api, token, talk["id"], question="what is in it?")).status_code == 404
        assert talk["id"] not in {
            c["id"] for c in (await api.call("GET", "/conversations", token)).json()["items"]
        }
    mine = (await api.call("GET", one, owner)).json()
    assert mine["title"] == "mine" and mine["message_count"] == 0
    assert (await api.call("GET", "/conversations")).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "", {"title": "t" * 201}, 422),
        ("POST", "", {"title": "\ud800"}, 422),
        ("POST", "", {"area_ids": ["a" * 65]}, 422),
        ("POST", "", {"area_ids": ["x"] * 101}, 422),
        ("POST", "", {"include_personal": "maybe"}, 422),
        ("POST", "", ["not", "an", "object"], 422),
        ("PATCH", "/{id}", {"title": "t" * 10_000}, 422),
        ("PATCH", "/{id}", {"area_ids": "not-a-list"}, 422),
        ("POST", "/{id}/messages", {}, 422),
        ("POST", "/{id}/messages", {"question": ""}, 422),
        ("POST", "/{id}/messages", {"question": "q" * 5000}, 422),
        ("POST", "/{id}/messages", {"question": "\udfff?"}, 422),
        ("POST", "/{id}/messages", {"question": "x", "mode": "psychic"}, 422),
        ("POST", "/{id}/messages", {"question": "x", "max_sources": 0}, 422),
        ("GET", "/not-an-id", None, 404),
        ("GET", "/000000000000000000000000", None, 404),
        ("PATCH", "/zz", {"title": "x"}, 404),
        ("DELETE", "/%00", None, 404),
        ("POST", "/not-an-id/messages", {"question": "x"}, 404),
        ("POST", "/000000000000000000000000/messages", {"question": "x"}, 404),
        ("GET", "/{id}?limit=0", None, 422),
        ("GET", "?offset=-1", None, 422),
    ],
)
async def test_hostile_requests_are_4xx_json(
    api: Api, method: str, path: str, body: Any, status: int
) -> None:
    _, token = await user(api, await api.token())
    talk = await conversation(api, token)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = await api.http.request(
        method,
        "/api/v1/conversations" + path.format(id=talk["id"]),
        headers=headers,
        content=None if body is None else json.dumps(body),  # escapes lone surrogates
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] in ("validation_failed", "not_found")


async def test_a_conversation_of_areas_searches_only_them(api: Api) -> None:
    """The conversation's scope is its own: a message cannot widen it."""
    token, rsync, find = await tools(api)
    area = f"{uuid.uuid4().hex[:24]}"
    talk = await conversation(api, token, area_ids=[area])
    answered = await ask(api, token, talk["id"], question=FIRST, area_ids=None)
    assert answered.status_code == 200, answered.text
    cited = {s["document_id"] for s in answered.json()["sources"]}
    assert not cited & {rsync, find}  # personal documents are out with areas named
    personal = await conversation(api, token, include_personal=False)
    answered = await ask(api, token, personal["id"], question=FIRST)
    assert not {s["document_id"] for s in answered.json()["sources"]} & {rsync, find}
