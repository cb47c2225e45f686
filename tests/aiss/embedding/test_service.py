"""The batcher's logic, with a recording backend standing in for the model."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tokenizers import Tokenizer

from actors import Supervisor, running
from aiss.embedding.model import describe
from aiss.embedding.service import Embedder, Limits, cut
from aiss.errors import TooManyRequests, ValidationFailed

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio


class Recorder:
    """Returns a hidden state made from the ids, after `delay`; records each batch."""

    name = "recorder"
    device = "cpu"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.batches: list[np.ndarray] = []

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        time.sleep(self.delay)
        self.batches.append(attention_mask.copy())
        hidden = np.zeros((*input_ids.shape, 4), dtype=np.float32)
        hidden[..., 0] = input_ids
        hidden[..., 1] = 1.0
        return hidden


def embedder(tmp_path: Path, backend: Recorder, **limits: object) -> Embedder:
    info = describe("all-MiniLM-L6-v2", tmp_path)

    def load() -> tuple[Recorder, Tokenizer]:
        return backend, Tokenizer.from_file(str(info.directory / "tokenizer.json"))

    return Embedder("test", info, load, dataclasses.replace(Limits(), **limits))  # type: ignore[arg-type]


async def test_batches_are_sorted_by_length_and_cut_by_the_token_budget(tmp_path: Path) -> None:
    backend = Recorder()
    service = embedder(tmp_path, backend, token_budget=64, max_rows=8, max_wait=0.05)
    texts = ["word " * n for n in (30, 1, 12, 2, 29, 3, 11)]
    async with running(Supervisor("root", [service])):
        result = await service.embed(texts)
    assert len(result.vectors) == len(texts)
    for batch in backend.batches:
        rows, padded = batch.shape
        assert rows == 1 or rows * padded <= 64
        lengths = batch.sum(axis=1)
        assert list(lengths) == sorted(lengths)  # similar lengths travel together
    assert sum(b.shape[0] for b in backend.batches) == len(texts)
    # Padding stays small because lengths are sorted.
    real = sum(int(b.sum()) for b in backend.batches)
    padded = sum(b.size for b in backend.batches)
    assert real / padded > 0.6


async def test_queries_overtake_ingestion(tmp_path: Path) -> None:
    backend = Recorder(delay=0.02)
    service = embedder(tmp_path, backend, max_rows=1, max_wait=0)
    finished: list[str] = []

    async def ingest(i: int) -> None:
        await service.embed([f"chunk {i}"], lane="ingest")
        finished.append(f"ingest {i}")

    async def query() -> None:
        await service.embed(["what is a supervisor?"], lane="query", query=True)
        finished.append("query")

    async with running(Supervisor("root", [service])), anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(ingest, i)
        await anyio.sleep(0.05)
        tg.start_soon(query)
    # Sent after all eight ingestion texts, it overtakes most of them.
    assert finished.index("query") < 7
    assert len(finished) == 9


async def test_a_full_queue_refuses_at_once(tmp_path: Path) -> None:
    backend = Recorder(delay=0.05)
    service = embedder(tmp_path, backend, queue=4, max_rows=1)
    async with running(Supervisor("root", [service])), anyio.create_task_group() as tg:
        tg.start_soon(service.embed, ["a", "b", "c"])
        await anyio.lowlevel.checkpoint()
        started = time.perf_counter()
        with pytest.raises(TooManyRequests) as caught:
            await service.embed(["d", "e"])
        assert time.perf_counter() - started < 0.05
        assert caught.value.headers() == {"Retry-After": "1"}


async def test_texts_of_callers_that_left_are_not_run(tmp_path: Path) -> None:
    backend = Recorder(delay=0.05)
    service = embedder(tmp_path, backend, max_rows=1, max_wait=0)
    async with running(Supervisor("root", [service])):
        async with anyio.create_task_group() as tg:
            tg.start_soon(service.embed, ["first"])
            await anyio.sleep(0.01)
            with anyio.move_on_after(0.01):
                await service.embed(["gone"] * 5)
        await service.embed(["last"])
    assert len(backend.batches) == 2  # "first" and "last"; the five abandoned ones never ran


async def test_long_texts_are_refused_when_truncation_is_off(tmp_path: Path) -> None:
    service = embedder(tmp_path, Recorder(), truncate=False)
    async with running(Supervisor("root", [service])):
        with pytest.raises(ValidationFailed) as caught:
            await service.embed(["short", "long " * 400])
        assert caught.value.details == [{"loc": ["input", 1]}]
        assert len((await service.embed(["short"])).vectors) == 1


async def test_query_prefix_is_added_only_to_queries(tmp_path: Path) -> None:
    backend = Recorder()
    service = embedder(tmp_path, backend)
    object.__setattr__(service, "info", dataclasses.replace(service.info, query_prefix="query: "))
    async with running(Supervisor("root", [service])):
        plain = await service.embed(["cats"])
        asked = await service.embed(["cats"], query=True)
    assert asked.tokens > plain.tokens


@given(
    lengths=st.lists(st.integers(1, 512), min_size=1, max_size=200).map(sorted),
    budget=st.integers(64, 20_000),
    rows=st.integers(1, 256),
)
def test_cut_respects_budget_rows_and_padding(lengths: list[int], budget: int, rows: int) -> None:
    limits = Limits(token_budget=budget, max_rows=rows)
    count = cut(lengths, limits)
    assert 1 <= count <= len(lengths)
    batch = lengths[:count]
    if count > 1:
        assert count <= rows and count * batch[-1] <= budget
        assert batch[-1] <= 2 * batch[0] + 8
    if count < len(lengths):  # stopped for a reason
        nxt = lengths[count]
        assert count + 1 > rows or (count + 1) * nxt > budget or nxt > 2 * batch[0] + 8
