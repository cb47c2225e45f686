"""The OpenAI-compatible embeddings API on the real server and the bundled model."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

import anyio
import numpy as np
import pytest

if TYPE_CHECKING:
    from .conftest import Api

pytestmark = pytest.mark.anyio


async def test_embeddings_in_openai_shape(api: Api) -> None:
    token = await api.token()
    response = await api.call(
        "POST", "/embeddings", token, json={"input": ["hello world", "goodbye"], "model": "general"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list"
    assert body["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert all(item["object"] == "embedding" for item in body["data"])
    first = np.array(body["data"][0]["embedding"])
    assert first.shape == (384,)
    assert abs(np.linalg.norm(first) - 1) < 1e-5
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 4

    # The OpenAI path, base64 floats, a single string and the default model agree.
    alias = await api.http.post(
        "/v1/embeddings",
        json={"input": "hello world", "encoding_format": "base64"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert alias.status_code == 200
    packed = alias.json()["data"][0]["embedding"]
    decoded = np.frombuffer(base64.b64decode(packed), dtype="<f4")
    assert np.allclose(decoded, first, atol=1e-6)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"input": []}, 422),
        ({"input": [""]}, 422),
        ({"input": ["x"] * 2049}, 422),
        ({"input": 5}, 422),
        ({"input": "x", "encoding_format": "int8"}, 422),
        ({"input": "x", "model": "no-such-model"}, 404),
    ],
)
async def test_bad_requests_are_clear(api: Api, body: dict[str, object], status: int) -> None:
    response = await api.call("POST", "/embeddings", await api.token(), json=body)
    assert response.status_code == status, response.text
    assert response.json()["message"]


async def test_embeddings_need_a_user(api: Api) -> None:
    assert (await api.call("POST", "/embeddings", None, json={"input": "x"})).status_code == 401


async def test_models_are_listed_with_their_roles(api: Api) -> None:
    response = await api.call("GET", "/embeddings/models", await api.token())
    assert response.json() == {
        "models": [
            {
                "name": "sentence-transformers/all-MiniLM-L6-v2",
                "roles": ["general", "personal"],
                "dimension": 384,
                "max_tokens": 256,
                "pooling": "mean",
                "backend": "onnx",
                "device": "cpu",
            }
        ]
    }


async def test_embedding_metrics_are_exported(api: Api) -> None:
    await api.call("POST", "/embeddings", await api.token(), json={"input": "count me"})
    metrics = (await api.http.get("/metrics")).text
    for name in (
        'aiss_embedding_queue_depth{lane="query",model="general"}',
        "aiss_embedding_batch_rows_bucket",
        "aiss_embedding_tokens_total",
        "aiss_embedding_padded_tokens_total",
        "aiss_embedding_queue_wait_seconds_count",
        "aiss_embedding_inference_seconds_count",
    ):
        assert name in metrics


def restarts(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("aiss_actor_restarts_total{")
    )


async def test_hostile_texts_are_refused_beside_innocent_callers(api: Api) -> None:
    """Each hostile request gets its own answer; twelve callers at the same time get
    their vectors, and no actor restarts."""
    token = await api.token()
    before = restarts((await api.http.get("/metrics")).text)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    hostile = {
        "lone surrogate": (b'{"input": ["fine", "bad \\ud800"]}', 422),
        "control characters only": (json.dumps({"input": "\x00\x01\x1b\x7f \t"}).encode(), 422),
        # Within the limits: cut at the model's length, or 1,000 texts in one go.
        "100,000 characters": (json.dumps({"input": "word " * 20_000}).encode(), 200),
        "1,000 texts": (json.dumps({"input": [f"text {i}" for i in range(1000)]}).encode(), 200),
    }
    answers: dict[str, int] = {}

    async def send(name: str, body: bytes) -> None:
        response = await api.http.post("/v1/embeddings", content=body, headers=headers)
        answers[name] = response.status_code
        if response.status_code == 422:
            assert response.json()["details"][0]["loc"][0] == "input", response.text

    async def innocent(i: int) -> None:
        response = await api.call("POST", "/embeddings", token, json={"input": f"question {i}"})
        answers[f"innocent {i}"] = response.status_code

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for name, (body, _) in hostile.items():
                tg.start_soon(send, name, body)
            for i in range(12):
                tg.start_soon(innocent, i)
    assert {name: answers[name] for name in hostile} == {n: s for n, (_, s) in hostile.items()}
    assert all(answers[f"innocent {i}"] == 200 for i in range(12)), answers
    assert restarts((await api.http.get("/metrics")).text) == before
