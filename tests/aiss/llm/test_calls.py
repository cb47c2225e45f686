"""Streaming through litellm against a real (fake-behaviour) OpenAI-compatible server."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from aiss.llm.calls import CallFailed, Deadlines, Target, Usage, litellm, probe, stream

from ...fake_llm import FakeLlm
from ...servers import serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.anyio
QUICK = Deadlines(first_token=1.0, between_tokens=0.5)
ROOMY = Deadlines(first_token=20.0, between_tokens=10.0)
ASK = [{"role": "user", "content": "who supervises billing?"}]


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[tuple[FakeLlm, str]]:
    llm = FakeLlm(delay=3.0)
    await litellm()  # its import takes seconds: not inside a timed test
    async with serving(llm.app()) as http:
        yield llm, f"{http.base_url}/v1".replace("//v1", "/v1")


def target(base: str, model: str, key: str | None = None) -> Target:
    return Target("p1", f"fake-{model}", "openai_compatible", model, base, key, 0.0, 64)


async def test_tokens_stream_with_usage(fake: tuple[FakeLlm, str]) -> None:
    llm, base = fake
    usage = Usage()
    parts = [t async for t in stream(target(base, "echo"), ASK, ROOMY, usage=usage)]
    assert "".join(parts) == "Orwell supervises billing [1]."
    assert len(parts) == 4
    assert usage.prompt_tokens == 42 and usage.total_tokens == 46
    sent = llm.requests[-1]
    assert sent["stream"] is True and sent["messages"] == ASK and sent["max_tokens"] == 64


async def test_a_slow_first_token_fails_within_the_deadline(fake: tuple[FakeLlm, str]) -> None:
    _, base = fake
    begun = time.perf_counter()
    with pytest.raises(CallFailed) as failed:
        async for _ in stream(target(base, "slow"), ASK, QUICK):
            pass
    assert not failed.value.started
    assert "before the first token" in failed.value.reason
    assert time.perf_counter() - begun < 2.5


async def test_a_provider_error_before_any_token(fake: tuple[FakeLlm, str]) -> None:
    _, base = fake
    with pytest.raises(CallFailed) as failed:
        async for _ in stream(target(base, "fail", key="sk-secret-value-1234"), ASK, QUICK):
            pass
    assert not failed.value.started
    assert "sk-secret-value-1234" not in str(failed.value)


async def test_a_stall_after_tokens_is_reported_as_started(fake: tuple[FakeLlm, str]) -> None:
    _, base = fake
    got: list[str] = []
    with pytest.raises(CallFailed) as failed:
        async for text in stream(target(base, "stall"), ASK, QUICK):
            got.append(text)
    assert got == ["Orwell ", "supervises "]
    assert failed.value.started and "between two tokens" in failed.value.reason


async def test_an_unreachable_provider_fails_cleanly() -> None:
    with pytest.raises(CallFailed) as failed:
        async for _ in stream(target("http://127.0.0.1:9/v1", "echo"), ASK, QUICK):
            pass
    assert not failed.value.started


async def test_probe_reports_success_and_failure(fake: tuple[FakeLlm, str]) -> None:
    _, base = fake
    good = await probe(target(base, "echo"), ROOMY)
    assert good["ok"] is True, good
    assert good["reply"].startswith("Orwell")
    assert good["first_token_ms"] <= good["latency_ms"]
    bad = await probe(target(base, "fail"), QUICK)
    assert bad["ok"] is False and bad["error"]


def test_litellm_routes_for_every_kind() -> None:
    for kind, model in [
        ("openai", "openai/gpt"),
        ("anthropic", "anthropic/gpt"),
        ("ollama", "ollama_chat/gpt"),
        ("azure_openai", "azure/gpt"),
        ("openai_compatible", "openai/gpt"),
    ]:
        t = Target("id", "n", kind, "gpt", "", None, 0.1, 10)
        assert t.arguments()["model"] == model
    assert "secret" not in repr(Target("id", "n", "openai", "m", "", "secret", 0.1, 10))
