"""A small OpenAI-compatible server whose model names pick how it misbehaves.

- `echo`: streams a fixed answer citing [1], then usage.
- `slow`: waits `delay` seconds before the first token.
- `fail`: answers 500 before any token.
- `stall`: sends two tokens, then nothing until the client gives up.
- `script`: streams the next of `script`'s replies (the `echo` answer once none is left).

Every request body is kept in `requests`, so tests can read the prompt sent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

ANSWER = ("Orwell ", "supervises ", "billing ", "[1].")


def _chunk(model: str, delta: dict[str, Any], usage: dict[str, int] | None = None) -> str:
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}] if delta else [],
    }
    if usage is not None:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n"


@dataclass
class FakeLlm:
    delay: float = 5.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self.complete, methods=["POST"]),
                Route("/v1/models", self.models, methods=["GET"]),
            ]
        )

    async def models(self, request: Request) -> Response:
        names = ("echo", "slow", "fail", "stall", "script")
        return JSONResponse({"object": "list", "data": [{"id": n} for n in names]})

    async def complete(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        model = str(body["model"])
        if model == "fail":
            error = {"message": "the fake model is down", "type": "server_error"}
            return JSONResponse({"error": error}, status_code=500)
        return StreamingResponse(self._tokens(model), media_type="text/event-stream")

    async def _tokens(self, model: str) -> AsyncIterator[str]:
        if model == "slow":
            await anyio.sleep(self.delay)
        yield _chunk(model, {"role": "assistant", "content": ""})
        words: tuple[str, ...] = ANSWER[:2] if model == "stall" else ANSWER
        if model == "script" and self.script:
            words = tuple(f"{word} " for word in self.script.pop(0).split())
        for word in words:
            yield _chunk(model, {"content": word})
            await anyio.sleep(0.01)
        if model == "stall":
            await anyio.sleep(3600)
        usage = {"prompt_tokens": 42, "completion_tokens": len(words), "total_tokens": 46}
        yield _chunk(model, {}, usage)
        yield "data: [DONE]\n\n"
