"""The OpenAI-compatible embeddings API on the real server and the bundled model."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

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
