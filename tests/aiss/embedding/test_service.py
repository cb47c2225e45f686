"""The batcher's logic, with a recording backend standing in for the model."""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import numpy as np
import pytest
from tokenizers import Tokenizer

from actors import Supervisor, running
from aiss.embedding.model import describe
from aiss.embedding.schedule import Limits
from aiss.embedding.service import Embedder
from aiss.embedding.worker import InThread
from aiss.errors import ServiceUnavailable, Timeout, TooManyRequests, ValidationFailed

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

    def tokenizer() -> Tokenizer:
        return Tokenizer.from_file(str(info.directory / "tokenizer.json"))

    replaced = dataclasses.replace(Limits(), **limits)  # type: ignore[arg-type]
    return Embedder("test", info, tokenizer, InThread(backend, info), replaced)


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


class Exploding(Recorder):
    """Fails every batch that holds the token `poison`; marks when a batch starts."""

    def __init__(self, poison: int, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.poison = poison
        self.started = 0

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        self.started += 1
        if (input_ids == self.poison).any():
            raise RuntimeError("the model fell over")
        return super().run(input_ids, attention_mask)


class Panic(BaseException):
    """As the tokenizer's Rust panics arrive: PanicException is a BaseException."""


class Fussy:
    """A real tokenizer that refuses any text holding "refuse me", with `error`."""

    def __init__(self, real: Tokenizer, error: type[BaseException]) -> None:
        self.real = real
        self.error = error
        self.batches = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def encode(self, text: str) -> object:
        if "refuse me" in text:
            raise self.error("not this one")
        return self.real.encode(text)

    def encode_batch(self, texts: list[str]) -> object:
        self.batches += 1
        for text in texts:
            self.encode(text)
        return self.real.encode_batch(texts)


async def innocents(service: Embedder, n: int = 12) -> list[int]:
    """`n` callers at once, each with one ordinary text: how many vectors came back."""
    got: list[int] = []

    async def one(i: int) -> None:
        got.append(len((await service.embed([f"an ordinary question {i}"])).vectors))

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return got


async def test_a_lone_surrogate_is_refused_before_the_queue(tmp_path: Path) -> None:
    backend = Recorder()
    service = embedder(tmp_path, backend)
    async with running(Supervisor("root", [service])):
        with pytest.raises(ValidationFailed) as caught:
            await service.embed(["fine", "bad \ud800 text"])
        assert caught.value.details == [{"loc": ["input", 1]}]
        assert "not valid Unicode" in caught.value.message
        assert service._queued == 0 and not backend.batches  # never queued
        assert await innocents(service) == [1] * 12


@pytest.mark.parametrize("error", [ValueError, Panic])
async def test_a_text_the_tokenizer_refuses_fails_only_its_request(
    tmp_path: Path, error: type[BaseException]
) -> None:
    backend = Recorder(delay=0.01)
    info = describe("all-MiniLM-L6-v2", tmp_path)
    fussy = Fussy(Tokenizer.from_file(str(info.directory / "tokenizer.json")), error)

    def tokenizer() -> Tokenizer:
        return fussy  # type: ignore[return-value]

    model = InThread(backend, info)
    service = Embedder("test", info, tokenizer, model, Limits(max_wait=0.01))
    async with running(Supervisor("root", [service])):
        refused: list[ValidationFailed] = []

        async def hostile() -> None:
            with pytest.raises(ValidationFailed) as caught:
                await service.embed(["ok", "please refuse me"])
            refused.append(caught.value)

        async with anyio.create_task_group() as tg:
            tg.start_soon(hostile)
            got = await innocents(service)  # tokenized in the same batch as the hostile one
        assert got == [1] * 12
        assert refused[0].details == [{"loc": ["input", 1]}]
        assert "tokenizer refused" in refused[0].message
        assert service._queued == 0
        assert service.model is model  # the same service, not restarted


async def test_a_batch_the_model_fails_fails_only_its_callers(tmp_path: Path) -> None:
    info = describe("all-MiniLM-L6-v2", tmp_path)
    poison = Tokenizer.from_file(str(info.directory / "tokenizer.json")).token_to_id("volcano")
    assert poison is not None
    backend = Exploding(poison)
    service = embedder(tmp_path, backend, max_rows=1, max_wait=0)
    async with running(Supervisor("root", [service])):
        with pytest.raises(ServiceUnavailable, match="the embedding model failed"):
            await service.embed(["volcano"])
        assert await innocents(service) == [1] * 12
        assert service.metrics.restarts == 0


async def test_a_caller_waits_at_most_the_deadline(tmp_path: Path) -> None:
    backend = Recorder(delay=1.0)
    service = embedder(tmp_path, backend, deadline=0.2, max_wait=0)
    async with running(Supervisor("root", [service])):
        started = time.perf_counter()
        with pytest.raises(Timeout, match=r"did not answer within 0\.2 seconds"):
            await service.embed(["slow"])
        assert time.perf_counter() - started < 0.9
        backend.delay = 0.0
        service.limits = dataclasses.replace(service.limits, deadline=5.0)
        with anyio.fail_after(5):
            assert len((await service.embed(["next"])).vectors) == 1


async def test_a_query_with_nothing_to_read_is_refused_but_a_chunk_is_kept(
    tmp_path: Path,
) -> None:
    service = embedder(tmp_path, Recorder())
    async with running(Supervisor("root", [service])):
        with pytest.raises(ValidationFailed) as caught:
            await service.embed(["a question", "\x00\x01\x1b \t\x7f"], lane="query")
        assert caught.value.details == [{"loc": ["input", 1]}]
        assert len((await service.embed(["\x00\x01"], lane="ingest")).vectors) == 1


async def test_callers_that_gave_up_leave_the_queue_count_at_once(tmp_path: Path) -> None:
    """Their texts are skipped later, but no longer fill the queue meanwhile (429s)."""
    backend = Recorder(delay=1.0)
    service = embedder(tmp_path, backend, deadline=0.2, max_wait=0, max_rows=1)
    async with running(Supervisor("root", [service])):
        with pytest.raises(Timeout):
            await service.embed([f"text {i}" for i in range(20)])
        assert service._queued == 0  # the model still holds the first of them


async def test_callers_of_a_failed_batch_each_get_their_own_error(tmp_path: Path) -> None:
    info = describe("all-MiniLM-L6-v2", tmp_path)
    poison = Tokenizer.from_file(str(info.directory / "tokenizer.json")).token_to_id("volcano")
    assert poison is not None
    service = embedder(tmp_path, Exploding(poison), max_wait=0.05)
    errors: list[BaseException] = []

    async def one() -> None:
        with pytest.raises(ServiceUnavailable) as caught:
            await service.embed(["volcano"])
        errors.append(caught.value)

    async with running(Supervisor("root", [service])), anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(one)
    assert len(errors) == 4 and len({id(e) for e in errors}) == 4


class Gate(Recorder):
    """Holds every batch until opened; says when one is in."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.opened = threading.Event()

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        self.entered.set()
        assert self.opened.wait(30)
        return super().run(input_ids, attention_mask)


async def test_with_a_model_of_its_own_ingestion_never_holds_a_question(tmp_path: Path) -> None:
    info = describe("all-MiniLM-L6-v2", tmp_path)
    gate = Gate()
    service = Embedder(
        "test",
        info,
        lambda: Tokenizer.from_file(str(info.directory / "tokenizer.json")),
        InThread(Recorder(), info),
        Limits(max_wait=0),
        ingest_model=InThread(gate, info),
    )
    async with running(Supervisor("root", [service])), anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(service.embed, ["a long chunk"] * 4, lane="ingest"))
        await anyio.to_thread.run_sync(gate.entered.wait)
        with anyio.fail_after(5):  # the ingestion batch is still held
            answer = await service.embed(["a question"], query=True)
        assert len(answer.vectors) == 1 and not gate.opened.is_set()
        gate.opened.set()
