"""What every answer tells browsers, and who may call from another origin."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from aiss.app import create_app
from aiss.config import Settings

from ..servers import serving

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio
ALLOWED = "https://aiss.example.org"


async def test_headers_and_cross_origin_rules(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"AISS_DATA_DIR": str(tmp_path), "AISS_SSH_PORT": "0", "CORS_ALLOWED_ORIGINS": ALLOWED},
        env_file=None,
    )
    async with serving(create_app(settings)) as client:
        for path in ("/health", "/", "/api/v1/users/me", "/no/such/page"):
            response = await client.get(path)
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
            policy = response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
            assert "script-src 'self'" in policy and "'unsafe-eval'" not in policy
        refused = await client.get("/api/v1/users/me")
        assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"

        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        }
        allowed = await client.options("/api/v1/search", headers={"Origin": ALLOWED, **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED
        foreign = await client.options(
            "/api/v1/search", headers={"Origin": "https://evil.example", **preflight}
        )
        assert foreign.status_code == 400
        assert "access-control-allow-origin" not in foreign.headers
        simple = await client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers
