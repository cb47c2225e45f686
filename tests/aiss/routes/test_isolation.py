"""Isolation across users, for every kind of thing a user owns.

Alice owns one of each: a document (with chunks and search hits), a question in
her history, an API key, a terminal session (with a recording and a logged
command) and a confirmed host key. Hypothesis then plays Bob: any request of
his, to any resource path with Alice's ids (or ids close to them), any listing
or search, with his token or his API key, answers nothing of hers.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .terminal_client import attached, open_local
from .test_documents import ready, upload, user

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .conftest import Api

pytestmark = pytest.mark.anyio

HOST_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@box"
)


@dataclass(frozen=True)
class Alice:
    marker: str  # a word in what Alice owns, which Bob searches for
    hidden: str  # a word beside it that Bob never sends: it must never come back
    ids: dict[str, str]  # kind -> id
    secrets: tuple[str, ...]  # her token and API key: never in Bob's answers


@dataclass(frozen=True)
class Bob:
    token: str
    api_key: str


@pytest.fixture(scope="module")
async def people(api: Api) -> AsyncIterator[tuple[Alice, Bob]]:
    admin = await api.token()
    marker, hidden = f"zq{uuid.uuid4().hex[:10]}", f"hx{uuid.uuid4().hex[:10]}"
    _, alice = await user(api, admin)
    text = f"Alice's notes mention {marker} and {hidden}: {marker} {hidden}."
    doc = await upload(api, alice, text.encode())
    await ready(api, alice, doc.json()["id"])
    question = {"question": f"What is {marker} {hidden}?"}
    asked = await api.call("POST", "/rag/query", alice, json=question)
    key = await api.call("POST", "/users/me/api-keys", alice, json={"name": f"key {hidden}"})
    host = await api.call(
        "POST",
        "/terminal/known-hosts",
        alice,
        json={"host": f"{marker}.{hidden}.example.org", "public_key": HOST_KEY},
    )
    session = await open_local(api, alice, title=f"session {hidden}")
    async with attached(api, alice, session["id"]) as term:
        await term.status("replay-end")
        await term.type(f"echo {marker}-{hidden}\r".encode())
        await term.expect(f"{marker}-{hidden}\r\n".encode())
        await term.pump(0.5)
    with anyio.fail_after(10):
        while not (
            commands := (
                await api.call("GET", "/terminal/commands", alice, params={"q": marker})
            ).json()["items"]
        ):
            await anyio.sleep(0.1)
    for response in (asked, key, host):
        assert response.status_code in (200, 201), response.text
    ids = {
        "document": doc.json()["id"],
        "query": asked.json()["query_id"],
        "api_key": key.json()["id"],
        "known_host": host.json()["id"],
        "session": session["id"],
        "command": commands[0]["id"],
    }
    _, bob_token = await user(api, admin)
    bob_key = await api.call("POST", "/users/me/api-keys", bob_token, json={"name": "bob"})
    yield (
        Alice(marker, hidden, ids, (alice, key.json()["key"])),
        Bob(bob_token, bob_key.json()["key"]),
    )
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", alice)


# Every path that names one of Alice's things, by the kind of id it takes.
PROBES: list[tuple[str, str, str]] = [
    ("GET", "/documents/{document}", "document"),
    ("PATCH", "/documents/{document}", "document"),
    ("DELETE", "/documents/{document}", "document"),
    ("GET", "/documents/{document}/content", "document"),
    ("GET", "/documents/{document}/chunks", "document"),
    ("GET", "/rag/history/{query}", "query"),
    ("DELETE", "/users/me/api-keys/{api_key}", "api_key"),
    ("DELETE", "/terminal/known-hosts/{known_host}", "known_host"),
    ("GET", "/terminal/sessions/{session}", "session"),
    ("PATCH", "/terminal/sessions/{session}", "session"),
    ("DELETE", "/terminal/sessions/{session}", "session"),
    ("POST", "/terminal/sessions/{session}/ticket", "session"),
    ("GET", "/terminal/sessions/{session}/recording", "session"),
]
LISTINGS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/documents", None),
    ("POST", "/search", {"query": "{marker}"}),
    ("POST", "/search", {"query": "{marker}", "scope": "personal"}),
    ("POST", "/rag/query", {"question": "{marker}"}),
    ("GET", "/rag/history", None),
    ("GET", "/users/me/api-keys", None),
    ("GET", "/terminal/sessions", None),
    ("GET", "/terminal/commands?q={marker}", None),
    ("GET", "/terminal/commands?session_id={session}", None),
    ("GET", "/terminal/known-hosts", None),
]


def variants(real: str) -> st.SearchStrategy[str]:
    """The id itself, or ids near it: case, one digit changed, padding, a suffix."""
    return st.one_of(
        st.just(real),
        st.just(real.upper()),
        st.integers(0, len(real) - 1).map(
            lambda i: real[:i] + ("0" if real[i] != "0" else "1") + real[i + 1 :]
        ),
        st.sampled_from([real + " ", real + "%00", f"{real}/..", " " + real]),
    )


@st.composite
def requests(draw: st.DrawFn, alice: Alice) -> tuple[str, str, Any, bool]:
    """One of Bob's requests: method, path, JSON body, and whether with his API key."""
    with_key = draw(st.booleans())
    if draw(st.booleans()):
        method, template, kind = draw(st.sampled_from(PROBES))
        path = template.replace("{" + kind + "}", draw(variants(alice.ids[kind])))
        body: Any = {"title": "mine now", "shared_with": []} if method == "PATCH" else {}
        return method, path, body if method in ("PATCH", "POST") else None, with_key
    method, template, body = draw(st.sampled_from(LISTINGS))
    values = {"marker": alice.marker, "session": alice.ids["session"]}
    path = template.format(**values)
    if body is not None:
        body = json.loads(json.dumps(body).replace("{marker}", alice.marker))
    return method, path, body, with_key


async def test_nothing_of_alice_reaches_bob(api: Api, people: tuple[Alice, Bob]) -> None:
    alice, bob = people
    seen: list[tuple[str, str, int]] = []

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.data())
    def probe(data: st.DataObject) -> None:
        method, path, body, with_key = data.draw(requests(alice))
        credential = bob.api_key if with_key else bob.token
        response = anyio.from_thread.run(
            lambda: (
                api.call(method, path, credential, json=body)
                if body is not None
                else api.call(method, path, credential)
            )
        )
        seen.append((method, path, response.status_code))
        assert response.status_code < 500, (method, path, response.text)
        text = response.text
        assert alice.hidden not in text, (method, path, text[:500])
        sent = response.request.url.path  # as the client normalised it ("x/.." is "")
        for kind, value in alice.ids.items():
            if value not in sent:  # an error may name the id Bob sent, nothing else
                assert value not in text, (method, path, kind)
        for secret in alice.secrets:
            assert secret not in text
        if any(value in sent for value in alice.ids.values()):
            assert response.status_code in (400, 403, 404, 405, 422), (method, path, text)

    await anyio.to_thread.run_sync(probe)
    assert {status for _, _, status in seen} >= {200, 404}

    # And all of Alice's things are still hers, unchanged.
    alice_token = alice.secrets[0]
    for method, template, kind in PROBES:
        if method == "GET":
            path = template.replace("{" + kind + "}", alice.ids[kind])
            assert (await api.call("GET", path, alice_token)).status_code == 200, path
    doc = (await api.call("GET", f"/documents/{alice.ids['document']}", alice_token)).json()
    assert doc["title"] != "mine now"
    keys = (await api.call("GET", "/users/me/api-keys", alice_token)).json()
    assert alice.ids["api_key"] in json.dumps(keys)
