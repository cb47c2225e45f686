"""Knowledge areas under /api/v1/areas: reads follow permissions, writes are for admins."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.routing import Route

from ..api import Paging, endpoint
from ..documents.library import check_tags
from ..errors import NotFound, ValidationFailed
from ..state import app_state, served
from ..users.views import iso

if TYPE_CHECKING:
    from starlette.requests import Request

    from ..areas.catalog import Catalog
    from ..storage.models import Area
    from ..users.views import Principal

API = "/api/v1/areas"
COLOR = r"^(#[0-9a-fA-F]{6}|[a-z]{1,20})?$"


class AreaIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    icon: str = Field(default="", max_length=64)
    color: str = Field(default="", pattern=COLOR)
    tags: list[str] = Field(default_factory=list, max_length=20)
    active: bool = True


class AreaChange(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    icon: str | None = Field(default=None, max_length=64)
    color: str | None = Field(default=None, pattern=COLOR)
    tags: list[str] | None = Field(default=None, max_length=20)
    active: bool | None = None


class AreaView(BaseModel):
    id: str
    name: str
    description: str
    icon: str
    color: str
    tags: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, area: Area) -> AreaView:
        return cls(
            id=str(area.id),
            name=area.name,
            description=area.description,
            icon=area.icon,
            color=area.color,
            tags=area.tags,
            active=area.active,
            created_at=iso(area.created_at),
            updated_at=iso(area.updated_at),
        )


class AreaPage(BaseModel):
    items: list[AreaView]
    total: int
    offset: int
    limit: int


class AreaQuery(Paging):
    active: bool | None = None


class SystemPrompt(BaseModel):
    system_prompt: str = Field(max_length=20_000)


class PrimaryLlm(BaseModel):
    provider_id: str = Field(default="", max_length=64, description="empty: the default provider")


def catalog(request: Request) -> Catalog:
    return served(app_state(request).areas, "areas")


def _id(request: Request) -> str:
    return str(request.path_params["area_id"])


@endpoint(query=AreaQuery, responses={200: AreaPage}, auth="user", tags=["areas"])
async def list_areas(request: Request, query: AreaQuery, principal: Principal) -> AreaPage:
    """The areas you may read (administrators: all), by name."""
    areas, total = await catalog(request).find(
        principal, active=query.active, offset=query.offset, limit=query.limit
    )
    return AreaPage(
        items=[AreaView.of(a) for a in areas], total=total, offset=query.offset, limit=query.limit
    )


@endpoint(body=AreaIn, responses={201: AreaView}, errors=[409], auth="admin", tags=["areas"])
async def create_area(request: Request, body: AreaIn, principal: Principal) -> AreaView:
    """Create an area (administrators)."""
    fields = body.model_dump() | {"tags": check_tags(body.tags), "name": body.name.strip()}
    return AreaView.of(await catalog(request).create(fields))


@endpoint(responses={200: AreaView}, errors=[404], auth="user", tags=["areas"])
async def get_area(request: Request, principal: Principal) -> AreaView:
    """One area you may read."""
    return AreaView.of(await catalog(request).get(principal, _id(request)))


@endpoint(
    body=AreaChange, responses={200: AreaView}, errors=[404, 409], auth="admin", tags=["areas"]
)
async def update_area(request: Request, body: AreaChange, principal: Principal) -> AreaView:
    """Change an area (administrators)."""
    fields = body.model_dump(exclude_none=True)
    if "tags" in fields:
        fields["tags"] = check_tags(fields["tags"])
    return AreaView.of(await catalog(request).update(principal, _id(request), fields))


@endpoint(responses={204: None}, errors=[404, 409], auth="admin", tags=["areas"])
async def delete_area(request: Request, principal: Principal) -> Response:
    """Delete an empty area (administrators)."""
    await catalog(request).delete(principal, _id(request))
    return Response(status_code=204)


@endpoint(responses={200: SystemPrompt}, errors=[404], auth="user", tags=["areas"])
async def get_system_prompt(request: Request, principal: Principal) -> SystemPrompt:
    """The system prompt answers about this area start from (empty: the global one)."""
    area = await catalog(request).get(principal, _id(request))
    return SystemPrompt(system_prompt=area.system_prompt)


@endpoint(
    body=SystemPrompt, responses={200: SystemPrompt}, errors=[404], auth="admin", tags=["areas"]
)
async def put_system_prompt(
    request: Request, body: SystemPrompt, principal: Principal
) -> SystemPrompt:
    """Set the area's system prompt; an empty one falls back to the global prompt."""
    area = await catalog(request).update(
        principal, _id(request), {"system_prompt": body.system_prompt}
    )
    return SystemPrompt(system_prompt=area.system_prompt)


@endpoint(responses={200: PrimaryLlm}, errors=[404], auth="user", tags=["areas"])
async def get_primary_llm(request: Request, principal: Principal) -> PrimaryLlm:
    """The LLM provider answers about this area use first (empty: the default)."""
    area = await catalog(request).get(principal, _id(request))
    return PrimaryLlm(provider_id=area.primary_llm)


@endpoint(body=PrimaryLlm, responses={200: PrimaryLlm}, errors=[404], auth="admin", tags=["areas"])
async def put_primary_llm(request: Request, body: PrimaryLlm, principal: Principal) -> PrimaryLlm:
    """Choose the area's LLM provider (administrators); it must exist."""
    if body.provider_id:
        try:
            await served(app_state(request).providers, "LLM settings").get(body.provider_id)
        except NotFound:
            raise ValidationFailed(
                f"no LLM provider {body.provider_id!r}", [{"loc": ["provider_id"]}]
            ) from None
    area = await catalog(request).update(principal, _id(request), {"primary_llm": body.provider_id})
    return PrimaryLlm(provider_id=area.primary_llm)


def routes() -> list[Route]:
    one = f"{API}/{{area_id}}"
    return [
        Route(API, list_areas, methods=["GET"]),
        Route(API, create_area, methods=["POST"]),
        Route(one, get_area, methods=["GET"]),
        Route(one, update_area, methods=["PUT"]),
        Route(one, delete_area, methods=["DELETE"]),
        Route(f"{one}/system-prompt", get_system_prompt, methods=["GET"]),
        Route(f"{one}/system-prompt", put_system_prompt, methods=["PUT"]),
        Route(f"{one}/primary-llm", get_primary_llm, methods=["GET"]),
        Route(f"{one}/primary-llm", put_primary_llm, methods=["PUT"]),
    ]
