"""The served embeddings equal an independent numpy computation of the same model."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import numpy as np
import pytest
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from actors import Supervisor, running
from aiss.embedding.model import describe
from aiss.embedding.schedule import Limits
from aiss.embedding.service import Embedder
from aiss.embedding.worker import Load, ModelWorker

from .reference import embed

if TYPE_CHECKING:
    from pathlib import Path

    from aiss.embedding.model import ModelInfo, Pooling

pytestmark = pytest.mark.anyio

SHORT = ["hello", "Qdrant stores vectors.", "A cat sat on the mat."]
LONG = [
    " ".join(["The supervision tree restarts a child that crashed"] * 30),
    "Embeddings map text to points so that similar meanings lie close together. " * 8,
]


def service(info: ModelInfo, cache: Path) -> tuple[ModelWorker, Embedder]:
    """The model in its worker process, as `aiss serve` runs it."""
    worker = ModelWorker("test.model", Load("onnx", info, cache, False, False, 2, False))

    def tokenizer() -> Tokenizer:
        return Tokenizer.from_file(str(info.directory / "tokenizer.json"))

    return worker, Embedder("test", info, tokenizer, worker, Limits(max_wait=0.001))


@pytest.mark.parametrize("pooling", ["mean", "cls"])
async def test_batched_and_single_match_the_reference(tmp_path: Path, pooling: Pooling) -> None:
    info = dataclasses.replace(describe("all-MiniLM-L6-v2", tmp_path), pooling=pooling)
    assert info.dimension == 384 and info.normalize and info.max_tokens == 256
    worker, embedder = service(info, tmp_path / "models")
    tokenizer = Tokenizer.from_file(str(info.directory / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=info.max_tokens)
    tokenizer.no_padding()  # the shipped tokenizer.json pads to 128
    config = json.loads((info.directory / "config.json").read_text())
    weights = load_file(str(info.directory / "model.safetensors"))
    texts = SHORT + LONG
    expected = embed(config, weights, [e.ids for e in tokenizer.encode_batch(texts)], pooling)
    async with running(Supervisor("root", [worker, embedder])):
        batched = await embedder.embed(texts)
        single = np.stack([(await embedder.embed([t])).vectors[0] for t in texts])
    for got in (batched.vectors, single):
        cosines = (got * expected).sum(axis=1)
        assert cosines.min() >= 0.999, cosines
    assert batched.tokens == sum(len(e.ids) for e in tokenizer.encode_batch(texts))
    assert 256 in [len(e.ids) for e in tokenizer.encode_batch(LONG)]  # truncated, still right
