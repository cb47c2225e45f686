"""LLM providers (API keys sealed at rest) and the global system prompt."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from beanie import PydanticObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..errors import Conflict, NotFound
from ..storage.models import LlmProvider, LlmSettings

if TYPE_CHECKING:
    from ..auth.sealing import Sealer
    from ..config import Settings
    from ..storage.mongo import MongoStore

DEFAULT_SYSTEM_PROMPT = (
    "You answer questions using only the numbered sources given with each question. "
    "Cite the sources you use as [n]. If the sources do not hold the answer, say so."
)
SEED_MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "ollama": "llama3.2",
}


class Providers:
    def __init__(self, mongo: MongoStore, sealer: Sealer, settings: Settings) -> None:
        self.mongo = mongo
        self.sealer = sealer
        self.settings = settings
        self._seeded = False

    async def _ready(self) -> None:
        """Seed a default provider from DEFAULT_LLM_PROVIDER the first time there is none."""
        if self._seeded:
            return
        kind = self.settings.default_llm_provider
        if kind != "none" and await LlmProvider.find_all().count() == 0:
            key = {
                "openai": self.settings.openai_api_key,
                "anthropic": self.settings.anthropic_api_key,
            }
            secret = key.get(kind)
            await self._insert(
                {
                    "name": kind,
                    "type": kind,
                    "model": SEED_MODELS[kind],
                    "api_base": self.settings.ollama_host if kind == "ollama" else "",
                    "is_default": True,
                },
                secret.reveal() if secret else None,
            )
        self._seeded = True

    async def all(self) -> list[LlmProvider]:
        with self.mongo.breaker.guard():
            await self._ready()
            return await LlmProvider.find_all().sort("name").to_list()

    async def get(self, provider_id: str) -> LlmProvider:
        try:
            key = PydanticObjectId(provider_id)
        except (InvalidId, TypeError):
            raise NotFound("no such provider") from None
        with self.mongo.breaker.guard():
            await self._ready()
            provider = await LlmProvider.get(key)
        if provider is None:
            raise NotFound("no such provider")
        return provider

    async def create(self, fields: dict[str, Any], api_key: str | None) -> LlmProvider:
        with self.mongo.breaker.guard():
            await self._ready()
            return await self._insert(fields, api_key)

    async def _insert(self, fields: dict[str, Any], api_key: str | None) -> LlmProvider:
        provider = LlmProvider(**fields)
        self._set_key(provider, api_key)
        try:
            await provider.insert()
        except DuplicateKeyError:
            raise Conflict(f"a provider named {fields['name']!r} exists") from None
        if provider.is_default:
            await self._only_default(provider)
        return provider

    async def update(
        self, provider_id: str, fields: dict[str, Any], api_key: str | None
    ) -> LlmProvider:
        provider = await self.get(provider_id)
        for name, value in fields.items():
            setattr(provider, name, value)
        if api_key is not None:
            self._set_key(provider, api_key)
        provider.updated_at = time.time()
        try:
            with self.mongo.breaker.guard():
                await provider.save()
                if provider.is_default:
                    await self._only_default(provider)
        except DuplicateKeyError:
            raise Conflict(f"a provider named {fields.get('name')!r} exists") from None
        return provider

    async def delete(self, provider_id: str) -> None:
        provider = await self.get(provider_id)
        with self.mongo.breaker.guard():
            await provider.delete()

    def api_key(self, provider: LlmProvider) -> str | None:
        """The clear key, for calling the provider only; never for an answer."""
        return self.sealer.open(provider.api_key_sealed) if provider.api_key_sealed else None

    def _set_key(self, provider: LlmProvider, api_key: str | None) -> None:
        provider.api_key_sealed = self.sealer.seal(api_key) if api_key else ""
        provider.api_key_last4 = api_key[-4:] if api_key and len(api_key) >= 8 else ""

    async def _only_default(self, provider: LlmProvider) -> None:
        await self.mongo.collection("llm_providers").update_many(
            {"_id": {"$ne": provider.id}, "is_default": True}, {"$set": {"is_default": False}}
        )

    async def take(self, provider: LlmProvider) -> int:
        """Count one request against the hourly cap: 0 when allowed, else seconds to wait."""
        if provider.hourly_cap <= 0:
            return 0
        now = time.time()
        hour = int(now // 3600)
        with self.mongo.breaker.guard():
            counted = await self.mongo.collection("llm_usage").find_one_and_update(
                {"provider_id": str(provider.id), "hour": hour},
                {"$inc": {"requests": 1}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        if counted is None or int(counted["requests"]) <= provider.hourly_cap:
            return 0
        return max(1, int((hour + 1) * 3600 - now))

    async def system_prompt(self) -> str:
        with self.mongo.breaker.guard():
            stored = await LlmSettings.find_one(LlmSettings.key == "global")
        return stored.system_prompt if stored and stored.system_prompt else DEFAULT_SYSTEM_PROMPT

    async def set_system_prompt(self, prompt: str | None) -> str:
        """Store the global prompt; None (or empty) goes back to the default."""
        with self.mongo.breaker.guard():
            stored = await LlmSettings.find_one(LlmSettings.key == "global") or LlmSettings()
            stored.system_prompt = prompt or ""
            await stored.save()
        return await self.system_prompt()
