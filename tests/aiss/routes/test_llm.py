"""LLM providers and settings over HTTP: admin only, API keys sealed and never returned."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from aiss.llm.providers import DEFAULT_SYSTEM_PROMPT
from aiss.storage.models import LlmProvider

from .conftest import STRONG, Api

pytestmark = pytest.mark.anyio
KEY = "sk-test-0123456789abcdef"


async def test_providers_keep_their_keys_secret(api: Api) -> None:
    admin = await api.token()
    name = f"p{uuid.uuid4().hex[:6]}"
    created = await api.call(
        "POST",
        "/llm/providers",
        admin,
        json={
            "name": name,
            "type": "openai",
            "model": "gpt-4o-mini",
            "api_key": KEY,
            "is_default": True,
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_api_key"] and body["api_key_last4"] == "cdef"
    assert KEY not in created.text
    stored = await LlmProvider.get(body["id"])
    assert stored is not None and stored.api_key_sealed and KEY not in stored.api_key_sealed

    listed = await api.call("GET", "/llm/providers", admin)
    assert KEY not in listed.text
    assert [p["name"] for p in listed.json()["items"] if p["is_default"]] == [name]

    second = await api.call(
        "POST",
        "/llm/providers",
        admin,
        json={
            "name": f"{name}-2",
            "type": "ollama",
            "model": "llama3.2",
            "api_base": "http://localhost:11434",
            "is_default": True,
        },
    )
    assert second.status_code == 201
    defaults = [
        p["name"]
        for p in (await api.call("GET", "/llm/providers", admin)).json()["items"]
        if p["is_default"]
    ]
    assert defaults == [f"{name}-2"]

    kept = await api.call("PUT", f"/llm/providers/{body['id']}", admin, json={"model": "gpt-4o"})
    assert kept.json()["has_api_key"] and kept.json()["model"] == "gpt-4o"
    removed = await api.call("PUT", f"/llm/providers/{body['id']}", admin, json={"api_key": ""})
    assert removed.json()["has_api_key"] is False and removed.json()["api_key_last4"] is None
    assert (
        await api.call(
            "POST", "/llm/providers", admin, json={"name": name, "type": "openai", "model": "m"}
        )
    ).status_code == 409
    assert (await api.call("DELETE", f"/llm/providers/{body['id']}", admin)).status_code == 204
    assert (await api.call("GET", f"/llm/providers/{body['id']}", admin)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "type": "gemini", "model": "m"},
        {"name": "x", "type": "openai", "model": ""},
        {"name": "x", "type": "openai", "model": "m", "temperature": 3},
        {"name": "x", "type": "openai", "model": "m", "api_base": "file:///etc/passwd"},
        {"name": "x", "type": "openai", "model": "m", "hourly_cap": -1},
    ],
)
async def test_bad_providers_are_422(api: Api, body: dict[str, Any]) -> None:
    assert (
        await api.call("POST", "/llm/providers", await api.token(), json=body)
    ).status_code == 422


async def test_global_prompt_is_set_and_reset(api: Api) -> None:
    admin = await api.token()
    assert (await api.call("GET", "/llm/settings", admin)).json()[
        "system_prompt"
    ] == DEFAULT_SYSTEM_PROMPT
    changed = await api.call(
        "PUT", "/llm/settings", admin, json={"system_prompt": "Answer in French."}
    )
    assert changed.json() == {"system_prompt": "Answer in French."}
    reset = await api.call("PUT", "/llm/settings", admin, json={"system_prompt": None})
    assert reset.json()["system_prompt"] == DEFAULT_SYSTEM_PROMPT


async def test_only_admins(api: Api) -> None:
    admin = await api.token()
    member = await api.create_user(admin, f"m{uuid.uuid4().hex[:8]}")
    token = await api.token(member["username"], STRONG)
    for method, path in (
        ("GET", "/llm/providers"),
        ("POST", "/llm/providers"),
        ("GET", "/llm/settings"),
        ("PUT", "/llm/settings"),
    ):
        assert (await api.call(method, path, token, json={})).status_code == 403
