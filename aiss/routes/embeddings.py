"""OpenAI-compatible embeddings: POST /api/v1/embeddings and POST /v1/embeddings."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field
from starlette.routing import Route

from ..api import Credential, endpoint
from ..embedding.remote import EMBED_PATH
from ..embedding.schedule import Lane
from ..embedding.service import Embedder
from ..errors import Unauthorized, ValidationFailed
from ..state import app_state, served

if TYPE_CHECKING:
    import numpy as np
    from starlette.requests import Request

    from ..embedding.tree import Embeddings
    from ..users.views import Principal

MAX_TEXT_CHARS = 100_000
SERVICE_TOKEN = Credential(
    "serviceToken",
    {
        "type": "http",
        "scheme": "bearer",
        "description": "A short-lived token one AISS role signs for another; no user has one.",
    },
)


class EmbeddingRequest(BaseModel):
    input: str | list[str] = Field(description="one text or a list of texts")
    model: str | None = Field(default=None, description="general, personal or a loaded model")
    encoding_format: Literal["float", "base64"] = "float"


class EmbeddingItem(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: Usage


class ModelView(BaseModel):
    name: str
    roles: list[str]
    dimension: int
    max_tokens: int
    pooling: str
    backend: str
    device: str


class ModelList(BaseModel):
    models: list[ModelView]


class InternalEmbedRequest(BaseModel):
    model: str = Field(max_length=200)
    texts: list[str] = Field(min_length=1, max_length=4096)
    lane: Lane = "ingest"
    query: bool = False


class InternalEmbedResponse(BaseModel):
    vectors: str = Field(description="base64 of little-endian float32, texts x dimension")
    tokens: int


def embeddings(request: Request) -> Embeddings:
    return served(app_state(request).embeddings, "embeddings")


@endpoint(
    body=EmbeddingRequest,
    responses={200: EmbeddingResponse},
    errors=[404, 429, 503, 504],
    auth="user",
    tags=["embeddings"],
)
async def create(
    request: Request, body: EmbeddingRequest, principal: Principal
) -> EmbeddingResponse:
    """Embed one text or a list of them, in the shape of OpenAI's embeddings API."""
    texts = [body.input] if isinstance(body.input, str) else body.input
    limit = app_state(request).settings.embed_max_inputs
    if not texts or len(texts) > limit:
        raise ValidationFailed(f"send between 1 and {limit} texts", [{"loc": ["input"]}])
    for index, text in enumerate(texts):
        if not text or len(text) > MAX_TEXT_CHARS:
            raise ValidationFailed(
                f"each text holds 1 to {MAX_TEXT_CHARS} characters", [{"loc": ["input", index]}]
            )
    service = embeddings(request).find(body.model)
    result = await service.embed(texts, lane="query")
    data = [
        EmbeddingItem(index=i, embedding=_encode(vector, body.encoding_format))
        for i, vector in enumerate(result.vectors)
    ]
    usage = Usage(prompt_tokens=result.tokens, total_tokens=result.tokens)
    return EmbeddingResponse(data=data, model=service.info.name, usage=usage)


def _encode(vector: np.ndarray, form: str) -> list[float] | str:
    if form == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode()
    return [float(x) for x in vector]


@endpoint(responses={200: ModelList}, auth="user", tags=["embeddings"])
async def models(request: Request, principal: Principal) -> ModelList:
    """The loaded embedding models, their roles, dimension, backend and device."""
    handle = embeddings(request)
    views = []
    for service in handle.services():
        model = service.model if isinstance(service, Embedder) else None
        views.append(
            ModelView(
                name=service.info.name,
                roles=[role for role, s in handle.roles.items() if s is service],
                dimension=service.info.dimension,
                max_tokens=service.info.max_tokens,
                pooling=service.info.pooling,
                backend=model.backend if model else "not loaded",
                device=model.device if model else "none",
            )
        )
    return ModelList(models=views)


@endpoint(
    body=InternalEmbedRequest,
    responses={200: InternalEmbedResponse},
    errors=[401, 404, 429, 503, 504],
    tags=["internal"],
    credentials=[SERVICE_TOKEN],
)
async def internal_embed(request: Request, body: InternalEmbedRequest) -> InternalEmbedResponse:
    """Embed for another AISS role (a service token); never routed by the gateway."""
    state = app_state(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("send Authorization: Bearer <service token>")
    served(state.users, "users").tokens.verify(token.strip(), "service")
    result = (
        await embeddings(request)
        .find(body.model)
        .embed(body.texts, lane=body.lane, query=body.query)
    )
    vectors = base64.b64encode(result.vectors.astype("<f4").tobytes()).decode()
    return InternalEmbedResponse(vectors=vectors, tokens=result.tokens)


def routes() -> list[Route]:
    return [
        Route(EMBED_PATH, internal_embed, methods=["POST"]),
        Route("/api/v1/embeddings", create, methods=["POST"]),
        Route("/v1/embeddings", create, methods=["POST"]),
        Route("/api/v1/embeddings/models", models, methods=["GET"]),
    ]
