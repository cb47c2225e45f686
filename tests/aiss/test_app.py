from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass

import anyio
import pytest

from actors import Actor, ActorSpec, Request, Supervisor
from aiss.app import create_app
from aiss.config import Settings

from ..servers import serving

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Crash(Request[None]):
    pass


class Gated(Actor[Crash]):
    """Its restarts wait for the test to open the gate."""

    def __init__(self, gate: anyio.Event, starts: list[int]) -> None:
        self.gate = gate
        self.starts = starts

    async def on_start(self) -> None:
        self.starts.append(1)
        if len(self.starts) > 1:
            await self.gate.wait()

    async def handle(self, message: Crash) -> None:
        raise RuntimeError("crash on request")


async def test_health_ready_metrics_and_openapi(settings: Settings) -> None:
    async with serving(create_app(settings)) as client:
        health = await client.get("/health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        assert (await client.get("/ready")).json() == {
            "ready": True,
            "not_ready": [],
            "details": {"terminal_sandbox": "bwrap"},
        }
        metrics = await client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert 'aiss_actor_up{actor="root"} 1.0' in metrics.text
        assert 'route="/health",status="200"' in metrics.text
        document = (await client.get("/openapi.json")).json()
        assert {"/health", "/ready", "/metrics", "/api/v1/auth/login"} <= set(document["paths"])


async def test_ready_lists_actors_that_are_down_while_they_restart(settings: Settings) -> None:
    gate, starts = anyio.Event(), list[int]()
    users = ActorSpec("users", lambda: Gated(gate, starts))
    app = create_app(settings, subtrees=[Supervisor("users", [users])])
    async with serving(app) as client:
        assert (await client.get("/ready")).status_code == 200
        with pytest.raises(RuntimeError):
            await users.ref.ask(Crash())
        with anyio.fail_after(5):
            while (response := await client.get("/ready")).status_code == 200:
                await anyio.sleep(0.01)
        assert response.status_code == 503
        assert response.json() == {
            "ready": False,
            "not_ready": [{"actor": "root/users/users", "status": "starting", "reason": None}],
            "details": {},
        }
        gate.set()
        with anyio.fail_after(5):
            while (await client.get("/ready")).status_code != 200:
                await anyio.sleep(0.01)
        metrics = (await client.get("/metrics")).text
        assert 'aiss_actor_restarts_total{actor="root/users/users"} 1.0' in metrics
        assert 'aiss_actor_failures_total{actor="root/users/users"} 1.0' in metrics


async def test_a_tree_that_gives_up_is_reported_and_not_ready(settings: Settings) -> None:
    starts: list[int] = []
    gate = anyio.Event()
    users = ActorSpec("users", lambda: Gated(gate, starts))
    fatal: list[Exception] = []
    strict = dataclasses.replace(settings, max_restarts=0)
    app = create_app(strict, subtrees=[users], on_fatal=fatal.append)
    async with serving(app) as client:
        with pytest.raises(RuntimeError):
            await users.ref.ask(Crash())
        with anyio.fail_after(5):
            while not fatal:
                await anyio.sleep(0.01)
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert {"actor": "root", "status": "failed", "reason": None} in ready.json()["not_ready"]


async def test_roles_pick_their_subtrees(settings: Settings) -> None:
    gate, starts = anyio.Event(), list[int]()
    subtrees = [ActorSpec(name, lambda: Gated(gate, starts)) for name in ("users", "rag")]
    app = create_app(dataclasses.replace(settings, role="users"), subtrees=subtrees)
    async with serving(app) as client:
        metrics = (await client.get("/metrics")).text
        assert 'actor="root/users"' in metrics
        assert 'actor="root/rag"' not in metrics


async def test_unknown_routes_and_methods_get_json_errors(settings: Settings) -> None:
    async with serving(create_app(settings)) as client:
        missing = await client.get("/no/such/thing")
        assert missing.status_code == 404
        assert missing.json() == {"error": "not_found", "message": "Not Found"}
        wrong = await client.post("/health")
        assert wrong.status_code == 405
        assert wrong.json()["error"] == "method_not_allowed"


async def test_request_ids_are_kept_when_sane_and_replaced_otherwise(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiss.access")
    async with serving(create_app(settings)) as client:
        kept = await client.get("/health", headers={"X-Request-ID": "abc-123"})
        assert kept.headers["x-request-id"] == "abc-123"
        replaced = await client.get("/health", headers={"X-Request-ID": "not;sane" * 30})
        assert len(replaced.headers["x-request-id"]) == 32
    access = [r for r in caplog.records if r.name == "aiss.access"]
    assert access[0].__dict__["route"] == "/health"
    assert access[0].__dict__["status"] == 200


async def test_cors_allows_only_the_configured_origins(tmp_path: object) -> None:
    settings = Settings.from_env(
        {
            "AISS_DATA_DIR": str(tmp_path),
            "CORS_ALLOWED_ORIGINS": "https://ok.example",
            "AISS_SSH_PORT": "0",
        },
        env_file=None,
    )
    preflight = {"Access-Control-Request-Method": "GET"}
    async with serving(create_app(settings)) as client:
        allowed = await client.options(
            "/health", headers={"Origin": "https://ok.example", **preflight}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://ok.example"
        denied = await client.options(
            "/health", headers={"Origin": "https://evil.example", **preflight}
        )
        assert denied.status_code == 400
        assert "access-control-allow-origin" not in denied.headers


def test_json_log_lines_carry_the_request_id() -> None:
    from aiss.logs import JsonFormatter, request_id

    token = request_id.set("rid-1")
    try:
        record = logging.makeLogRecord({"msg": "hello %s", "args": ("you",), "name": "t"})
        record.__dict__["route"] = "/x"
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["message"] == "hello you"
    assert line["request_id"] == "rid-1"
    assert line["route"] == "/x"
