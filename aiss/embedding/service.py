"""The embedding service of one model: two lanes, a tokenizer stage and batching runners.

Texts wait in a bounded queue with two lanes. A tokenizer task encodes what
arrived in a worker thread while the model (in a worker process, see
`worker`) runs the previous batch. A runner per model takes the next batch
from the `Schedule`: with one model for both lanes, queries first, ingestion
in short slices and with its share; with one for ingestion of its own, each
lane through its own. Texts of similar length go together, none waiting past
its age; a runner waits a few milliseconds for more work only when its model
was idle. Texts whose caller
went away are skipped; a full queue refuses at once (429).

A text the model cannot take fails its own request alone: invalid Unicode
before it is queued, what the tokenizer refuses (and, for queries, a text with
nothing the model reads) when it is tokenized, all as 422 naming the text. A
batch the model fails fails its texts (503), and the others go on. Every text
taken is answered or failed, also when the service stops mid-batch, and a
caller waits at most `Limits.deadline` (504).
"""

from __future__ import annotations

import copy
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import anyio
import anyio.to_thread
import numpy as np
from prometheus_client import Counter, Gauge, Histogram

from actors import Service

from ..errors import ServiceUnavailable, Timeout, TooManyRequests, ValidationFailed
from .schedule import LANES, Lane, Limits, Schedule

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from anyio.abc import TaskStatus
    from prometheus_client.core import Metric
    from tokenizers import Encoding, Tokenizer

    from .model import ModelInfo
    from .worker import Model

logger = logging.getLogger("aiss.embedding")


class _Call:
    """The texts of one `embed()`: done when all are answered, or when one fails."""

    __slots__ = ("done", "left")

    def __init__(self, texts: int) -> None:
        self.done = anyio.Event()
        self.left = texts


@dataclass(eq=False)
class _Item:
    text: str
    lane: Lane
    enqueued: float
    call: _Call
    ids: list[int] | None = None
    vector: np.ndarray | None = None
    error: Exception | None = None
    answered: bool = False

    @property
    def tokens(self) -> int:
        return len(self.ids or ())

    @property
    def abandoned(self) -> bool:
        return self.call.done.is_set()


@dataclass(frozen=True, slots=True)
class Embedded:
    vectors: np.ndarray  # (texts, dimension), float32
    tokens: int


class TextEmbedder(Protocol):
    """What ingestion and search need of a model: this process's, or the embedding role's."""

    name: str
    info: ModelInfo

    @property
    def tokenizer(self) -> Tokenizer: ...

    async def embed(
        self, texts: Sequence[str], *, lane: Lane = "query", query: bool = False
    ) -> Embedded: ...


def check_texts(texts: Sequence[str]) -> None:
    """Refuse invalid Unicode (a lone surrogate: valid JSON, not text), naming the text."""
    for index, text in enumerate(texts):
        try:
            text.encode()
        except UnicodeEncodeError as exc:
            raise ValidationFailed(
                f"text {index} is not valid Unicode ({exc.reason} at character {exc.start})",
                [{"loc": ["input", index]}],
            ) from None


class Embedder(Service):
    def __init__(
        self,
        name: str,
        info: ModelInfo,
        load_tokenizer: Callable[[], Tokenizer],
        model: Model,
        limits: Limits | None = None,
        ingest_model: Model | None = None,
    ) -> None:
        super().__init__(name)
        self.info = info
        self.limits = limits = limits or Limits()
        self.model = model
        # A model of its own for ingestion (a worker the OS runs after the server's
        # work): questions then never wait behind ingestion; None shares `model`.
        self.ingest_model = ingest_model
        self._load_tokenizer = load_tokenizer
        self._tokenizer: Tokenizer | None = None
        self._incoming: dict[Lane, deque[_Item]] = {lane: deque() for lane in LANES}
        self._ready: Schedule[_Item] = Schedule(limits)
        self._running: set[_Item] = set()
        self._queued = 0
        self._arrived = anyio.Event()
        self._tokenized = anyio.Event()
        self._depth = Gauge(
            "aiss_embedding_queue_depth", "Texts waiting", ["model", "lane"], registry=None
        )
        self._rows = Histogram(
            "aiss_embedding_batch_rows",
            "Rows per batch",
            ["model"],
            registry=None,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        self._tokens = Counter(
            "aiss_embedding_tokens", "Real tokens embedded", ["model"], registry=None
        )
        self._padded = Counter(
            "aiss_embedding_padded_tokens", "Tokens run, padding included", ["model"], registry=None
        )
        self._wait = Histogram(
            "aiss_embedding_queue_wait_seconds",
            "From arrival to batch",
            ["model", "lane"],
            registry=None,
        )
        self._infer = Histogram(
            "aiss_embedding_inference_seconds",
            "One batch through the model",
            ["model", "lane"],
            registry=None,
        )

    # -- the API other actors and routes use ------------------------------------

    @property
    def tokenizer(self) -> Tokenizer:
        """The model's tokenizer (truncating at its limit), for chunking by its tokens."""
        if self._tokenizer is None:
            raise ServiceUnavailable(f"the embedding model {self.name!r} is not loaded")
        return self._tokenizer

    async def embed(
        self, texts: Sequence[str], *, lane: Lane = "query", query: bool = False
    ) -> Embedded:
        """Embed `texts` (with the model's query prefix when `query`), in order."""
        if self._tokenizer is None:
            raise ServiceUnavailable(f"the embedding model {self.name!r} is not loaded")
        check_texts(texts)
        if not texts:
            return Embedded(np.zeros((0, self.info.dimension), dtype=np.float32), 0)
        if self._queued + len(texts) > self.limits.queue:
            raise TooManyRequests("the embedding queue is full; try again shortly", retry_after=1)
        prefix = self.info.query_prefix if query else ""
        now = time.monotonic()
        call = _Call(len(texts))
        items = [_Item(prefix + text, lane, now, call) for text in texts]
        self._incoming[lane].extend(items)
        self._queued += len(items)
        self._arrived.set()
        try:
            with anyio.move_on_after(self.limits.deadline) as waited:
                await call.done.wait()
        finally:
            call.done.set()  # what is left of it is abandoned: skipped, not run
            for item in items:
                if not item.answered:  # it leaves the count now, the queues when next seen
                    item.answered = True
                    self._queued -= 1
        if waited.cancelled_caught:
            raise Timeout(
                f"the embedding model {self.name!r} did not answer within"
                f" {self.limits.deadline:g} seconds"
            )
        for index, item in enumerate(items):
            if item.error is not None:
                if isinstance(item.error, ValidationFailed):
                    raise ValidationFailed(item.error.message, [{"loc": ["input", index]}])
                raise copy.copy(item.error)  # one a caller: the batch's callers share it
        vectors = np.stack([item.vector for item in items if item.vector is not None])
        return Embedded(vectors, sum(item.tokens for item in items))

    def metric_families(self) -> Iterable[Metric]:
        for lane in LANES:
            depth = len(self._incoming[lane]) + self._ready.count(lane)
            self._depth.labels(self.name, lane).set(depth)
        for metric in (
            self._depth,
            self._rows,
            self._tokens,
            self._padded,
            self._wait,
            self._infer,
        ):
            yield from metric.collect()

    # -- the service ---------------------------------------------------------------

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        tokenizer = await anyio.to_thread.run_sync(self._load_tokenizer)
        tokenizer.enable_truncation(max_length=self.info.max_tokens)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._tokenize_loop)
                if self.ingest_model is None:
                    tg.start_soon(self._run_loop, LANES, self.model)
                else:
                    tg.start_soon(self._run_loop, ("query",), self.model)
                    tg.start_soon(self._run_loop, ("ingest",), self.ingest_model)
                task_status.started()
                await stop.wait()
                tg.cancel_scope.cancel()
        finally:
            self._tokenizer = None
            self._fail_all(self._stopped())

    def _fail_all(self, error: Exception) -> None:
        pending = [
            *self._running,
            *self._ready.remove(lambda _: False),
            *self._incoming["query"],
            *self._incoming["ingest"],
        ]
        self._running.clear()
        for lane in LANES:
            self._incoming[lane].clear()
        self._fail(pending, error)

    def _finish(self, item: _Item) -> None:
        """`item` leaves the service: answered, failed or skipped; its caller is told."""
        if item.answered:
            return
        item.answered = True
        self._queued -= 1
        call = item.call
        call.left -= 1
        if call.left == 0 or item.error is not None:
            call.done.set()

    def _fail(self, items: Iterable[_Item], error: Exception) -> None:
        """Those of `items` not answered yet: failed with `error`."""
        for item in items:
            if not item.answered:
                item.error = error
                self._finish(item)

    def _stopped(self) -> ServiceUnavailable:
        return ServiceUnavailable(f"the embedding model {self.name!r} stopped")

    def _encode(self, tokenizer: Tokenizer, taken: list[_Item]) -> list[Encoding | None]:
        """The encodings of `taken`; one at a time if the batch is refused, so a text
        the tokenizer refuses (None) costs only its own request. In a worker thread,
        where no cancellation arrives: BaseException too, as the tokenizer's Rust
        panics are PanicException, a BaseException."""
        try:
            return list(tokenizer.encode_batch([item.text for item in taken]))
        except BaseException:
            encodings: list[Encoding | None] = []
            for item in taken:
                try:
                    encodings.append(tokenizer.encode(item.text))
                except BaseException as exc:
                    item.error = ValidationFailed(f"the model's tokenizer refused a text: {exc}")
                    encodings.append(None)
            return encodings

    async def _tokenize_loop(self) -> None:
        assert self._tokenizer is not None
        tokenizer = self._tokenizer
        while True:
            if not any(self._incoming.values()):
                self._arrived = anyio.Event()
                await self._arrived.wait()
            taken: list[_Item] = []
            for lane in LANES:
                queue = self._incoming[lane]
                while queue and len(taken) < 256:
                    item = queue.popleft()
                    if item.abandoned:
                        self._finish(item)
                    else:
                        taken.append(item)
            if not taken:
                continue
            try:
                encodings = await anyio.to_thread.run_sync(self._encode, tokenizer, taken)
            except BaseException:  # stopped, or a fault: none of these is left waiting
                self._fail(taken, self._stopped())
                raise
            for item, encoding in zip(taken, encodings, strict=True):
                if encoding is None:
                    self._finish(item)  # with the tokenizer's refusal
                    continue
                item.ids = list(encoding.ids)
                if encoding.overflowing and not self.limits.truncate:
                    item.error = ValidationFailed(
                        f"a text is longer than the model's {self.info.max_tokens} tokens"
                    )
                    self._finish(item)
                    continue
                if item.lane == "query" and all(encoding.special_tokens_mask):
                    item.error = ValidationFailed(
                        "a text holds nothing the model reads (only spaces, control or format"
                        " characters)"
                    )
                    self._finish(item)
                    continue
                self._ready.add(item)
            self._tokenized.set()
            self._tokenized = anyio.Event()

    def _next_batch(self, lanes: Sequence[Lane]) -> list[_Item]:
        for item in self._ready.remove(lambda item: not item.abandoned):
            self._finish(item)
        return self._ready.take(time.monotonic(), lanes)

    def _waiting(self, lanes: Sequence[Lane]) -> int:
        return sum(self._ready.count(lane) for lane in lanes)

    async def _run_loop(self, lanes: Sequence[Lane], model: Model) -> None:
        """Batches of `lanes` through `model`, one at a time."""
        # A model is hung past the deadline; one of ingestion's own, which the OS runs
        # after everything else, may just be waiting for a core: it gets longer.
        within = self.limits.deadline * (1 if "query" in lanes else 4)
        while True:
            if not self._waiting(lanes):
                await self._tokenized.wait()
                # The model was idle: give a burst a moment to gather into one batch.
                with anyio.move_on_after(self.limits.max_wait):
                    while self._waiting(lanes) < self.limits.max_rows:
                        await self._tokenized.wait()
            batch = self._next_batch(lanes)
            if batch:
                await self._run(batch, model, within)

    async def _run(self, batch: list[_Item], model: Model, within: float) -> None:
        self._running.update(batch)
        try:
            await self._infer_batch(batch, model, within)
        except Exception as exc:  # this batch fails; the next ones go on
            logger.exception("embedding batch failed", extra={"model": self.name})
            failed = (
                exc.with_traceback(None)
                if isinstance(exc, ServiceUnavailable | Timeout)
                else ServiceUnavailable(f"the embedding model failed: {type(exc).__name__}")
            )
            self._fail(batch, failed)
        except BaseException:  # stopped mid-batch: its callers are told, not left waiting
            self._fail(batch, self._stopped())
            raise
        finally:
            self._running.difference_update(batch)

    async def _infer_batch(self, batch: list[_Item], model: Model, within: float) -> None:
        longest = max(item.tokens for item in batch)
        ids = np.zeros((len(batch), longest), dtype=np.int64)
        mask = np.zeros((len(batch), longest), dtype=np.int64)
        for row, item in enumerate(batch):
            tokens = item.ids or []
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        lane = batch[0].lane
        now = time.monotonic()
        for item in batch:
            self._wait.labels(self.name, lane).observe(now - item.enqueued)
        vectors, took = await model.infer(ids, mask, within=within)
        self._ready.charge(lane, took, int(mask.size))
        self._infer.labels(self.name, lane).observe(took)
        self._rows.labels(self.name).observe(len(batch))
        self._tokens.labels(self.name).inc(int(mask.sum()))
        self._padded.labels(self.name).inc(int(mask.size))
        for row, item in enumerate(batch):
            item.vector = vectors[row]
            self._finish(item)
