"""The MCP server through the official SDK's client, over streamable HTTP."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from aiss.app import create_app

from ...servers import serving
from ..routes.conftest import Api, app_settings
from ..routes.test_documents import new_area, ready, upload, user

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from mcp.types import CallToolResult

pytestmark = pytest.mark.anyio
FACT = b"The night shift at the harbour is led by Captain Ishmael Brandt."


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    settings = app_settings(tmp_path_factory.mktemp("app"))
    async with serving(create_app(settings)) as http:
        yield Api(http)


@asynccontextmanager
async def mcp_session(api: Api, credential: str) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {credential}"}
    async with (
        httpx.AsyncClient(headers=headers, timeout=60) as client,
        streamable_http_client(
            f"{api.http.base_url}/mcp".replace("//mcp", "/mcp"), http_client=client
        ) as (
            read,
            write,
            _,
        ),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def content(result: CallToolResult) -> Any:
    assert not result.isError, result.content
    if result.structuredContent is not None:
        return result.structuredContent.get("result", result.structuredContent)
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


async def test_tools_act_as_the_caller(api: Api) -> None:
    admin = await api.token()
    _, alice = await user(api, admin)
    _, bob = await user(api, admin)
    async with mcp_session(api, alice) as session:
        tools = {t.name for t in (await session.list_tools()).tools}
        assert tools == {"search_knowledge", "ask", "store_document", "list_areas"}
        stored = content(
            await session.call_tool(
                "store_document", {"title": "Harbour roster", "content": FACT.decode()}
            )
        )
        await ready(api, alice, stored["id"])
        hits = content(
            await session.call_tool("search_knowledge", {"query": "Who leads the night shift?"})
        )
        assert hits[0]["document_id"] == stored["id"] and "Brandt" in hits[0]["text"]
        answer = content(await session.call_tool("ask", {"question": "Who leads the night shift?"}))
        assert answer["mode"] == "extractive" and "[1]" in answer["answer"]
        assert answer["sources"][0]["document_id"] == stored["id"]
        for mode in ("dense", "sparse", "hybrid"):
            asked = {"query": "Who leads the night shift?", "mode": mode}
            hits = content(await session.call_tool("search_knowledge", asked))
            assert hits[0]["document_id"] == stored["id"], mode
        answer = content(
            await session.call_tool("ask", {"question": "night shift lead", "mode": "sparse"})
        )
        assert answer["sources"][0]["document_id"] == stored["id"]
        # The mode is passed on: question words alone are no keywords.
        asked = {"query": "who does what", "mode": "sparse"}
        assert content(await session.call_tool("search_knowledge", asked)) == []
        for hostile in ("x" * 4001, " " * 100):
            assert (await session.call_tool("ask", {"question": hostile})).isError
        # Padding is no part of the question: what is asked (and stored) is stripped.
        padded = content(
            await session.call_tool("ask", {"question": " " * 100_000 + "night shift"})
        )
        listed = await api.call("GET", f"/rag/history/{padded['query_id']}", alice)
        assert listed.json()["question"] == "night shift"
        asked = {"query": "night shift", "mode": "magic"}
        assert (await session.call_tool("search_knowledge", asked)).isError

    async with mcp_session(api, bob) as session:
        hits = content(
            await session.call_tool("search_knowledge", {"query": "Who leads the night shift?"})
        )
        assert all(h["document_id"] != stored["id"] for h in hits)
        refused = await session.call_tool(
            "store_document", {"title": "x", "content": "y", "area_id": "000000000000000000000000"}
        )
        assert refused.isError


async def test_api_keys_work_and_bad_credentials_are_401(api: Api) -> None:
    admin = await api.token()
    _, token = await user(api, admin)
    key = await api.call("POST", "/users/me/api-keys", token, json={"name": "mcp"})
    assert key.status_code == 201, key.text
    async with mcp_session(api, key.json()["key"]) as session:
        assert isinstance(content(await session.call_tool("list_areas", {})), list)
    response = await api.http.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": "Bearer nonsense", "Accept": "application/json"},
    )
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    assert (await api.http.post("/mcp", json={})).status_code == 401


async def test_contexts_scope_the_tools(api: Api) -> None:
    admin = await api.token()
    north, south = await new_area(api, admin), await new_area(api, admin)
    for area, text in ((north, b"North dock opens at six."), (south, b"South dock opens at six.")):
        doc = await upload(api, admin, text, "dock.txt", scope="shared", area_id=area)
        await ready(api, admin, doc.json()["id"])
    _, token = await user(api, admin, {north: (True, False), south: (True, False)})

    listed = (await api.call("GET", "/contexts", token)).json()["items"]
    assert {c["area_id"] for c in listed} == {north, south}
    assert not any(c["active"] for c in listed)
    switched = await api.call("POST", f"/contexts/{north}/activate", token)
    assert switched.status_code == 200 and switched.json()["active"] is True

    async with mcp_session(api, token) as session:
        areas = content(await session.call_tool("list_areas", {}))
        assert {a["id"]: a["active"] for a in areas} == {north: True, south: False}
        hits = content(
            await session.call_tool("search_knowledge", {"query": "When does the dock open?"})
        )
        assert hits and all("North" in h["text"] for h in hits)
        await api.call("POST", f"/contexts/{north}/deactivate", token)
        hits = content(
            await session.call_tool("search_knowledge", {"query": "When does the dock open?"})
        )
        assert {h["text"][:5] for h in hits} == {"North", "South"}

    outsider = await new_area(api, admin)
    assert (await api.call("POST", f"/contexts/{outsider}/activate", token)).status_code == 404
