"""Calling one provider's model through litellm: streamed, under two deadlines.

litellm is imported on first use, in a worker thread: the import takes
seconds, and it must not reach for the internet (its price map is read from
the copy inside the package).
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, cast

import anyio
import anyio.to_thread

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import ModuleType

    from ..storage.models import LlmProvider

# litellm's name for each kind of provider.
ROUTES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "ollama": "ollama_chat",
    "azure_openai": "azure",
    "openai_compatible": "openai",
}
OFFLINE = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"}


async def litellm() -> ModuleType:
    """The module, imported once (the import system serialises concurrent first calls)."""
    for name, value in OFFLINE.items():
        os.environ.setdefault(name, value)
    module: Any = await anyio.to_thread.run_sync(import_module, "litellm")
    module.suppress_debug_info = True
    module.telemetry = False
    # It logs every call at INFO, with the model and provider; our own log says enough.
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return cast("ModuleType", module)


class CallFailed(Exception):
    """The provider failed; `started` tells whether tokens had already come."""

    def __init__(self, provider: str, reason: str, *, started: bool) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason
        self.started = started


@dataclass(frozen=True)
class Target:
    """One provider, ready to call: its clear key lives only here, never in a reply."""

    provider_id: str
    name: str
    kind: str
    model: str
    api_base: str
    api_key: str | None = field(repr=False)
    temperature: float
    max_tokens: int

    @classmethod
    def of(cls, provider: LlmProvider, api_key: str | None, ollama_host: str) -> Target:
        base = provider.api_base or (ollama_host if provider.type == "ollama" else "")
        return cls(
            str(provider.id),
            provider.name,
            provider.type,
            provider.model,
            base,
            api_key,
            provider.temperature,
            provider.max_tokens,
        )

    def arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {"model": f"{ROUTES[self.kind]}/{self.model}"}
        if self.api_base:
            args["api_base"] = self.api_base
        if self.api_key:
            args["api_key"] = self.api_key
        elif self.kind == "openai_compatible":
            args["api_key"] = "none"  # the OpenAI client insists on one; local servers ignore it
        return args


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass
class Deadlines:
    first_token: float
    between_tokens: float


async def stream(
    target: Target,
    messages: list[dict[str, str]],
    deadlines: Deadlines,
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    usage: Usage | None = None,
) -> AsyncIterator[str]:
    """The answer's text as it comes; `usage` is filled in when the provider reports it.

    Raises CallFailed for any failure of the provider, including a deadline.
    """
    module = await litellm()
    started = False
    deadline = deadlines.first_token
    try:
        with anyio.fail_after(deadline):
            response = await module.acompletion(
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                temperature=target.temperature if temperature is None else temperature,
                max_tokens=target.max_tokens if max_tokens is None else max_tokens,
                # The client's own socket timeout only backs up the deadlines here.
                timeout=2 * max(deadlines.first_token, deadlines.between_tokens),
                num_retries=0,
                drop_params=True,
                **target.arguments(),
            )
        async with aclosing(response.__aiter__()) as chunks:
            while True:
                with anyio.fail_after(deadline):
                    try:
                        chunk = await chunks.__anext__()
                    except StopAsyncIteration:
                        break
                reported = getattr(chunk, "usage", None)
                if reported and usage is not None:
                    usage.prompt_tokens = int(reported.prompt_tokens or 0)
                    usage.completion_tokens = int(reported.completion_tokens or 0)
                    usage.total_tokens = int(reported.total_tokens or 0)
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    started = True
                    deadline = deadlines.between_tokens
                    yield text
    except TimeoutError:
        what = "between two tokens" if started else "before the first token"
        reason = f"no answer within {deadline:g} s {what}"
        raise CallFailed(target.name, reason, started=started) from None
    except CallFailed:
        raise
    except Exception as exc:
        raise CallFailed(target.name, _reason(exc, target), started=started) from None


def _reason(exc: Exception, target: Target) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if target.api_key:
        text = text.replace(target.api_key, "***")
    return text[:3000]


async def probe(target: Target, deadlines: Deadlines) -> dict[str, Any]:
    """A tiny request, to tell an administrator whether the provider answers."""
    begun = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    messages = [{"role": "user", "content": "Reply with the single word: ok"}]
    try:
        async for text in stream(target, messages, deadlines, temperature=0, max_tokens=8):
            if first is None:
                first = time.perf_counter()
            parts.append(text)
    except CallFailed as exc:
        return {"ok": False, "error": exc.reason, "latency_ms": _ms(begun, time.perf_counter())}
    return {
        "ok": True,
        "reply": "".join(parts)[:200],
        "first_token_ms": _ms(begun, first) if first else None,
        "latency_ms": _ms(begun, time.perf_counter()),
    }


def _ms(begun: float, end: float) -> float:
    return round((end - begun) * 1000, 1)
