"""Answers written by LLMs: a real local model, and a fake server for the failures."""

from __future__ import annotations

import json
import re
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest

from aiss.app import create_app
from aiss.llm.calls import litellm
from aiss.llm.providers import DEFAULT_SYSTEM_PROMPT
from aiss.rag.followup import REWRITE_TOKENS

from ...fake_llm import FakeLlm
from ...llama import MODEL_NAME, llama_server
from ...servers import serving
from .conftest import Api, app_settings, documented_events
from .test_conversations import FIND, FIRST, FOLLOW_UP, RSYNC
from .test_documents import new_area, ready, upload, user

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.anyio
VAULT = (
    b"Facilities handbook.\n\nThe access code for the Zephyr vault is 7391. "
    b"It is changed every spring by the facilities team.\n"
)
QUESTION = "What is the access code for the Zephyr vault?"


@pytest.fixture(scope="module")
async def llama() -> AsyncIterator[str]:
    async with llama_server() as base:
        yield base


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[tuple[FakeLlm, str]]:
    llm = FakeLlm(delay=5.0)
    async with serving(llm.app()) as http:
        yield llm, str(http.base_url).rstrip("/") + "/v1"


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    settings = app_settings(
        tmp_path_factory.mktemp("app"),
        AISS_LLM_FIRST_TOKEN_TIMEOUT="2s",
        AISS_LLM_TOKEN_TIMEOUT="2s",
    )
    await litellm()  # imported once, outside the timed answers
    async with serving(create_app(settings)) as http:
        yield Api(http)


@asynccontextmanager
async def provider(api: Api, admin: str, **fields: Any) -> AsyncIterator[dict[str, Any]]:
    body = {"name": f"p-{uuid.uuid4().hex[:6]}", "type": "openai_compatible", **fields}
    created = await api.call("POST", "/llm/providers", admin, json=body)
    assert created.status_code == 201, created.text
    try:
        yield created.json()
    finally:
        await api.call("DELETE", f"/llm/providers/{created.json()['id']}", admin)


async def sse(api: Api, token: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    async with api.http.stream(
        "POST",
        "/api/v1/rag/query",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        timeout=60,
    ) as response:
        assert response.status_code == 200, await response.aread()
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    check = await documented_events(api, "/api/v1/rag/query")
    for kind, data in events:
        check(kind, data)
    return events


async def with_fact(api: Api, admin: str) -> tuple[str, str]:
    """A user holding a ready personal document with the fact; their token and its id."""
    _, token = await user(api, admin)
    document_id = (await upload(api, token, VAULT, "vault.txt")).json()["id"]
    assert (await ready(api, token, document_id))["status"] == "ready"
    return token, document_id


async def test_a_local_model_answers_from_an_uploaded_document(api: Api, llama: str) -> None:
    admin = await api.token()
    token, document_id = await with_fact(api, admin)
    async with provider(
        api, admin, model=MODEL_NAME, api_base=llama, temperature=0, max_tokens=80
    ) as p:
        events = await sse(api, token, {"question": QUESTION, "provider_id": p["id"]})
        kinds = [k for k, _ in events]
        assert kinds[0] == "sources" and kinds[-1] == "done", events
        assert events[0][1][0]["document_id"] == document_id and events[0][1][0]["n"] == 1
        tokens = [data["text"] for k, data in events if k == "token"]
        assert len(tokens) > 3  # streamed, not one block
        assert "7391" in "".join(tokens)  # found only in the uploaded document
        done = events[-1][1]
        assert done["mode"] == "llm" and done["provider"] == p["name"]
        assert done["model"] == MODEL_NAME and done["usage"]["completion_tokens"] > 0
        assert 0 < done["first_token_ms"] <= done["processing_time_ms"]

        stored = (await api.call("GET", f"/rag/history/{done['query_id']}", token)).json()
        assert stored["mode"] == "llm" and "7391" in stored["answer"]

        probed = await api.call("POST", f"/llm/providers/{p['id']}/test", admin)
        assert probed.status_code == 200 and probed.json()["ok"] is True, probed.text


async def test_the_next_provider_answers_when_the_first_fails_before_a_token(
    api: Api, fake: tuple[FakeLlm, str]
) -> None:
    llm, base = fake
    admin = await api.token()
    token, _ = await with_fact(api, admin)
    async with (
        provider(api, admin, model="slow", api_base=base, is_default=True) as slow,
        provider(api, admin, model="fail", api_base=base, name="a-fail") as failing,
        provider(api, admin, model="echo", api_base=base, name="b-echo") as echo,
    ):
        response = await api.call("POST", "/rag/query", token, json={"question": QUESTION})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["mode"] == "llm" and body["provider"] == echo["name"]
        assert body["answer"] == "Orwell supervises billing [1]."
        assert body["usage"] == {"prompt_tokens": 42, "completion_tokens": 4, "total_tokens": 46}
        tried = [r["model"] for r in llm.requests[-3:]]
        assert tried == ["slow", "fail", "echo"], (slow, failing)


async def test_failures_before_and_after_the_first_token(
    api: Api, fake: tuple[FakeLlm, str]
) -> None:
    _, base = fake
    admin = await api.token()
    token, _ = await with_fact(api, admin)
    async with provider(api, admin, model="fail", api_base=base) as failing:
        ask = {"question": QUESTION, "provider_id": failing["id"]}
        response = await api.call("POST", "/rag/query", token, json=ask)
        assert response.status_code == 502 and response.json()["error"] == "upstream_failed"
        events = await sse(api, token, ask)
        assert [k for k, _ in events] == ["sources", "error"]
        assert events[-1][1]["error"] == "upstream_failed" and events[-1][1]["query_id"]

    async with provider(api, admin, model="stall", api_base=base) as stalling:
        ask = {"question": QUESTION, "provider_id": stalling["id"]}
        events = await sse(api, token, ask)
        assert [k for k, _ in events] == ["sources", "token", "token", "error"]
        assert "broke off" in events[-1][1]["message"]
        stored = (await api.call("GET", f"/rag/history/{events[-1][1]['query_id']}", token)).json()
        assert stored["answer"] == "Orwell supervises " and "between two tokens" in stored["error"]

    metrics = (await api.http.get("/metrics")).text
    for outcome in ("failed", "broke_off"):
        counted = re.search(
            rf'aiss_llm_calls_total{{outcome="{outcome}",provider="[^"]+"}} (\S+)', metrics
        )
        assert counted and float(counted.group(1)) >= 1, outcome
    assert "aiss_llm_first_token_seconds_count" in metrics  # the stalled call had started


async def test_the_hourly_cap_answers_429(api: Api, fake: tuple[FakeLlm, str]) -> None:
    _, base = fake
    admin = await api.token()
    token, _ = await with_fact(api, admin)
    async with provider(api, admin, model="echo", api_base=base, hourly_cap=2) as capped:
        ask = {"question": QUESTION, "provider_id": capped["id"]}
        for _ in range(2):
            assert (await api.call("POST", "/rag/query", token, json=ask)).status_code == 200
        refused = await api.call("POST", "/rag/query", token, json=ask)
        assert refused.status_code == 429, refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        probed = await api.call("POST", f"/llm/providers/{capped['id']}/test", admin)
        assert probed.json()["ok"] is True  # an administrator's check is not counted


async def test_system_prompt_and_model_come_from_the_area_then_global_then_default(
    api: Api, fake: tuple[FakeLlm, str]
) -> None:
    llm, base = fake
    admin = await api.token()
    area = await new_area(api, admin)
    document = await upload(api, admin, VAULT + b" (area)", "v.txt", scope="shared", area_id=area)
    await ready(api, admin, document.json()["id"])
    async with (
        provider(api, admin, model="echo", api_base=base, is_default=True),
        provider(api, admin, model="echo", api_base=base, name="z-area-model") as chosen,
    ):
        ask = {"question": QUESTION, "area_ids": [area]}

        async def system_sent() -> str:
            response = await api.call("POST", "/rag/query", admin, json=ask)
            assert response.status_code == 200, response.text
            return str(llm.requests[-1]["messages"][0]["content"])

        assert await system_sent() == DEFAULT_SYSTEM_PROMPT
        await api.call("PUT", "/llm/settings", admin, json={"system_prompt": "Global rules."})
        assert await system_sent() == "Global rules."
        prompt = {"system_prompt": "Area rules."}
        await api.call("PUT", f"/areas/{area}/system-prompt", admin, json=prompt)
        assert await system_sent() == "Area rules."
        await api.call("PUT", "/llm/settings", admin, json={"system_prompt": None})

        await api.call(
            "PUT", f"/areas/{area}/primary-llm", admin, json={"provider_id": chosen["id"]}
        )
        response = await api.call("POST", "/rag/query", admin, json=ask)
        assert response.json()["provider"] == chosen["name"]
        user_prompt = llm.requests[-1]["messages"][1]["content"]
        assert "[1] v.txt" in user_prompt and "7391" in user_prompt and QUESTION in user_prompt


async def test_a_provider_that_does_not_exist(api: Api) -> None:
    admin = await api.token()
    missing = {"question": QUESTION, "provider_id": "000000000000000000000000"}
    assert (await api.call("POST", "/rag/query", admin, json=missing)).status_code == 404
    probed = await api.call("POST", "/llm/providers/nope/test", admin)
    assert probed.status_code == 404


async def test_other_users_see_no_source_of_mine(api: Api, fake: tuple[FakeLlm, str]) -> None:
    llm, base = fake
    admin = await api.token()
    _, document_id = await with_fact(api, admin)
    _, stranger = await user(api, admin)
    async with provider(api, admin, model="echo", api_base=base, is_default=True):
        before = len(llm.requests)
        response = await api.call("POST", "/rag/query", stranger, json={"question": QUESTION})
        body = response.json()
        assert all(s["document_id"] != document_id for s in body["sources"])
        sent = json.dumps(llm.requests[before:])
        assert "7391" not in sent  # the passage never reached the model either


async def test_a_follow_up_is_rewritten_and_the_prompt_carries_the_earlier_turn(
    api: Api, fake: tuple[FakeLlm, str]
) -> None:
    llm, base = fake
    admin = await api.token()
    _, token = await user(api, admin)
    ids = []
    for body, name in ((RSYNC, "rsync.txt"), (FIND, "find.txt")):
        ids.append((await upload(api, token, body, name)).json()["id"])
        await ready(api, token, ids[-1])
    rewritten = "How do I make rsync also delete files on the backup server?"
    async with provider(api, admin, model="script", api_base=base) as p:
        talk = (await api.call("POST", "/conversations", token, json={})).json()
        path = f"/conversations/{talk['id']}/messages"
        llm.script[:] = ["Use rsync -a /srv/data/ backup:/srv/ [1].", rewritten]
        first = await api.call(
            "POST", path, token, json={"question": FIRST, "provider_id": p["id"]}
        )
        assert first.status_code == 200, first.text
        assert first.json()["answer"].startswith("Use rsync -a")
        assert first.json()["standalone_question"] is None
        before = len(llm.requests)
        ask = {"question": FOLLOW_UP, "provider_id": p["id"]}
        followed = (await api.call("POST", path, token, json=ask)).json()
        assert followed["mode"] == "llm" and followed["standalone_question"] == rewritten
        assert followed["sources"][0]["document_id"] == ids[0]

        rewrite, answer = llm.requests[before:]
        assert rewrite["max_tokens"] == REWRITE_TOKENS and rewrite["temperature"] == 0
        assert "standalone" in rewrite["messages"][0]["content"]
        sent = rewrite["messages"][1]["content"]
        assert FIRST in sent and "Use rsync -a /srv/data/ backup:/srv/." in sent
        assert FOLLOW_UP in sent
        roles = [m["role"] for m in answer["messages"]]
        assert roles == ["system", "user", "assistant", "user"]
        assert answer["messages"][1]["content"] == FIRST
        assert answer["messages"][2]["content"] == "Use rsync -a /srv/data/ backup:/srv/."
        assert FOLLOW_UP in answer["messages"][3]["content"]
        assert "[1] rsync.txt" in answer["messages"][3]["content"]
        stored = (await api.call("GET", f"/rag/history/{followed['query_id']}", token)).json()
        assert stored["standalone_question"] == rewritten

        # A rewrite that comes back empty: the follow-up is fused with the context instead.
        llm.script[:] = [""]
        fallback = (await api.call("POST", path, token, json=ask)).json()
        assert fallback["standalone_question"] is None
        assert fallback["sources"][0]["document_id"] == ids[0]
        assert len(llm.requests[-1]["messages"]) == 2 + 2 * 2  # the two earlier turns
