"""LLM providers and the global LLM settings under /api/v1/llm (administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.routing import Route

from ..api import endpoint
from ..llm.calls import probe
from ..state import app_state, served
from ..users.views import iso

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..llm.providers import Providers
    from ..storage.models import LlmProvider
    from ..users.views import Principal

API = "/api/v1/llm"
Kind = Literal["openai", "anthropic", "ollama", "azure_openai", "openai_compatible"]


class ProviderIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    type: Kind
    model: str = Field(min_length=1, max_length=200)
    api_base: str = Field(default="", max_length=500, pattern=r"^(https?://\S+)?$")
    api_key: str | None = Field(default=None, max_length=1000)
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_tokens: int = Field(default=1024, ge=1, le=200_000)
    is_default: bool = False
    hourly_cap: int = Field(default=0, ge=0, le=1_000_000)


class ProviderChange(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    type: Kind | None = None
    model: str | None = Field(default=None, min_length=1, max_length=200)
    api_base: str | None = Field(default=None, max_length=500, pattern=r"^(https?://\S+)?$")
    api_key: str | None = Field(default=None, max_length=1000, description="empty string: remove")
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    is_default: bool | None = None
    hourly_cap: int | None = Field(default=None, ge=0, le=1_000_000)


class ProviderView(BaseModel):
    id: str
    name: str
    type: str
    model: str
    api_base: str
    has_api_key: bool
    api_key_last4: str | None
    temperature: float
    max_tokens: int
    is_default: bool
    hourly_cap: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: LlmProvider) -> ProviderView:
        return cls(
            id=str(p.id),
            name=p.name,
            type=p.type,
            model=p.model,
            api_base=p.api_base,
            has_api_key=bool(p.api_key_sealed),
            api_key_last4=p.api_key_last4 or None,
            temperature=p.temperature,
            max_tokens=p.max_tokens,
            is_default=p.is_default,
            hourly_cap=p.hourly_cap,
            created_at=iso(p.created_at),
            updated_at=iso(p.updated_at),
        )


class ProviderList(BaseModel):
    items: list[ProviderView]


class LlmSettingsView(BaseModel):
    system_prompt: str


class LlmSettingsIn(BaseModel):
    system_prompt: str | None = Field(max_length=20_000, description="null: back to the default")


def providers(request: Request) -> Providers:
    return served(app_state(request).providers, "LLM settings")


def _id(request: Request) -> str:
    return str(request.path_params["provider_id"])


@endpoint(responses={200: ProviderList}, auth="admin", tags=["llm"])
async def list_providers(request: Request, principal: Principal) -> ProviderList:
    """Every provider; API keys show only whether they are set and their last four characters."""
    return ProviderList(items=[ProviderView.of(p) for p in await providers(request).all()])


@endpoint(body=ProviderIn, responses={201: ProviderView}, errors=[409], auth="admin", tags=["llm"])
async def create_provider(request: Request, body: ProviderIn, principal: Principal) -> ProviderView:
    """Add a provider; its API key is encrypted at rest and never returned."""
    fields = body.model_dump(exclude={"api_key"})
    return ProviderView.of(await providers(request).create(fields, body.api_key))


@endpoint(responses={200: ProviderView}, errors=[404], auth="admin", tags=["llm"])
async def get_provider(request: Request, principal: Principal) -> ProviderView:
    """One provider."""
    return ProviderView.of(await providers(request).get(_id(request)))


@endpoint(
    body=ProviderChange,
    responses={200: ProviderView},
    errors=[404, 409],
    auth="admin",
    tags=["llm"],
)
async def update_provider(
    request: Request, body: ProviderChange, principal: Principal
) -> ProviderView:
    """Change a provider; omit `api_key` to keep it, send "" to remove it."""
    fields = body.model_dump(exclude_none=True, exclude={"api_key"})
    return ProviderView.of(await providers(request).update(_id(request), fields, body.api_key))


@endpoint(responses={204: None}, errors=[404], auth="admin", tags=["llm"])
async def delete_provider(request: Request, principal: Principal) -> Response:
    """Remove a provider."""
    await providers(request).delete(_id(request))
    return Response(status_code=204)


class ProbeResult(BaseModel):
    ok: bool
    reply: str | None = None
    error: str | None = None
    first_token_ms: float | None = None
    latency_ms: float


@endpoint(responses={200: ProbeResult}, errors=[404], auth="admin", tags=["llm"])
async def test_provider(request: Request, principal: Principal) -> ProbeResult:
    """Send the provider a tiny request; `ok` false carries the provider's error.

    It does not count against the hourly cap.
    """
    state = app_state(request)
    answerer = served(state.rag, "questions")
    provider = await providers(request).get(_id(request))
    return ProbeResult(**await probe(answerer.target(provider), answerer.deadlines))


@endpoint(responses={200: LlmSettingsView}, auth="admin", tags=["llm"])
async def get_settings(request: Request, principal: Principal) -> LlmSettingsView:
    """The global system prompt (used when an area has none)."""
    return LlmSettingsView(system_prompt=await providers(request).system_prompt())


@endpoint(body=LlmSettingsIn, responses={200: LlmSettingsView}, auth="admin", tags=["llm"])
async def put_settings(
    request: Request, body: LlmSettingsIn, principal: Principal
) -> LlmSettingsView:
    """Set the global system prompt; null resets it to the default."""
    return LlmSettingsView(
        system_prompt=await providers(request).set_system_prompt(body.system_prompt)
    )


def routes() -> list[Route]:
    one = f"{API}/providers/{{provider_id}}"
    return [
        Route(f"{API}/providers", list_providers, methods=["GET"]),
        Route(f"{API}/providers", create_provider, methods=["POST"]),
        Route(one, get_provider, methods=["GET"]),
        Route(one, update_provider, methods=["PUT"]),
        Route(one, delete_provider, methods=["DELETE"]),
        Route(f"{one}/test", test_provider, methods=["POST"]),
        Route(f"{API}/settings", get_settings, methods=["GET"]),
        Route(f"{API}/settings", put_settings, methods=["PUT"]),
    ]
