"""The embedding role's answers as a caller in another role sees them (the HTTP
mapping alone: the transport is a stand-in)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from aiss.embedding.model import describe
from aiss.embedding.remote import RemoteEmbedder
from aiss.errors import ServiceUnavailable, Timeout, ValidationFailed

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio


class Tokens:
    def issue(self, *_: Any, **__: Any) -> tuple[str, Any]:
        class Claims:
            expires = 1e12

        return "service-token", Claims()


def remote(tmp_path: Path, answer: httpx.Response, sent: list[httpx.Request]) -> RemoteEmbedder:
    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    info = describe("all-MiniLM-L6-v2", tmp_path)
    return RemoteEmbedder("general", info, "http://embedding", client, Tokens())  # type: ignore[arg-type]


async def test_a_lone_surrogate_is_refused_before_it_is_sent(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []
    embedder = remote(tmp_path, httpx.Response(200), sent)
    with pytest.raises(ValidationFailed) as caught:
        await embedder.embed(["fine", "bad \ud800"])
    assert caught.value.details == [{"loc": ["input", 1]}]
    assert not sent


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(504, json={"message": "did not answer within 30 seconds"}), Timeout),
        (
            httpx.Response(422, json={"message": "refused", "details": [{"loc": ["input", 2]}]}),
            ValidationFailed,
        ),
        (httpx.Response(422, text="not json"), ValidationFailed),
        (httpx.Response(500, text="oops"), ServiceUnavailable),
    ],
)
async def test_the_roles_answers_keep_their_meaning(
    tmp_path: Path, answer: httpx.Response, error: type[Exception]
) -> None:
    embedder = remote(tmp_path, answer, [])
    with pytest.raises(error) as caught:
        await embedder.embed(["a", "b", "c"])
    if answer.status_code == 422 and answer.headers.get("content-type") == "application/json":
        assert caught.value.details == json.loads(answer.content)["details"]  # type: ignore[attr-defined]
