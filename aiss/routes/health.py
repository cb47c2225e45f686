"""Liveness, readiness, metrics and the API description."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..api import endpoint
from ..state import app_state

if TYPE_CHECKING:
    from starlette.requests import Request

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class Health(BaseModel):
    status: str


class ActorState(BaseModel):
    actor: str
    status: str
    reason: str | None = None


class Readiness(BaseModel):
    ready: bool
    not_ready: list[ActorState]
    details: dict[str, str | None] = {}


@endpoint(responses={200: Health}, tags=["operations"])
async def health(request: Request) -> Health:
    """The process is alive and serving requests."""
    return Health(status="ok")


@endpoint(responses={200: Readiness, 503: Readiness}, tags=["operations"])
async def ready(request: Request) -> Response:
    """Every actor of this process is up; 503 lists those that are not."""
    down = [
        ActorState(actor=node.path, status=node.metrics.status.value, reason=node.metrics.unhealthy)
        for node in app_state(request).root.nodes()
        if not node.metrics.up
    ]
    details = {}
    terminals = app_state(request).terminals
    if terminals is not None:
        details["terminal_sandbox"] = terminals.probe.name if terminals.probe else None
    report = Readiness(ready=not down, not_ready=down, details=details)
    return JSONResponse(report.model_dump(mode="json"), status_code=503 if down else 200)


@endpoint(responses={200: PROMETHEUS_TEXT}, tags=["operations"])
async def metrics(request: Request) -> Response:
    """Prometheus metrics: request latency by route and the state of every actor."""
    return Response(app_state(request).metrics.render(), media_type=PROMETHEUS_TEXT)


async def openapi(request: Request) -> Response:
    return JSONResponse(app_state(request).openapi)


def routes() -> list[Route]:
    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    ]
