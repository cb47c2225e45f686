"""DEFAULT_LLM_PROVIDER seeds a default provider on a fresh database (its own server)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from aiss.app import create_app
from aiss.auth.sealing import Sealer
from aiss.storage.models import LlmProvider

from ...servers import serving
from .conftest import Api, app_settings

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio


async def test_the_default_provider_is_seeded_with_its_key_sealed(tmp_path: Path) -> None:
    settings = app_settings(
        tmp_path, DEFAULT_LLM_PROVIDER="openai", OPENAI_API_KEY="sk-seeded-key-9876"
    )
    async with serving(create_app(settings)) as http:
        api = Api(http)
        listed = (await api.call("GET", "/llm/providers", await api.token())).json()["items"]
        assert [(p["name"], p["model"], p["is_default"], p["api_key_last4"]) for p in listed] == [
            ("openai", "gpt-4o-mini", True, "9876")
        ]
        stored = await LlmProvider.find_one(LlmProvider.name == "openai")
        assert stored is not None
        assert Sealer.from_settings(settings).open(stored.api_key_sealed) == "sk-seeded-key-9876"
        with pytest.raises(ValueError, match="another key"):
            Sealer("some other key").open(stored.api_key_sealed)
    assert (tmp_path / "encryption_key").stat().st_mode & 0o777 == 0o600
