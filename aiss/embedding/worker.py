"""The model, run where it cannot stall the server: a worker process, or a thread for tests.

The embedding service hands a padded batch (ids and mask) to a `Model` and
gets the pooled vectors back, with the seconds the model itself took (what
the schedule learns from: not the time spent waiting for a worker to start);
only rows x dimension floats come back, not the hidden states.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import anyio.to_thread

from ..errors import Timeout
from ..workers.process import Worker
from .backends import TorchBackend, choose, pool

if TYPE_CHECKING:
    import numpy as np

    from .backends import Backend
    from .model import ModelInfo


class Model(Protocol):
    """A loaded model as the embedding service drives it."""

    @property
    def backend(self) -> str: ...

    @property
    def device(self) -> str: ...

    async def infer(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, *, within: float
    ) -> tuple[np.ndarray, float]:
        """Pooled (and normalised, when the model says so) vectors of one padded batch,
        and the seconds the model took. A model that takes longer than `within` once
        it has the batch is given up on (`Timeout`) and, where it can be, ended, so
        that a new one takes the next batches."""


class Runner:
    """A backend and its pooling: what runs in the worker process."""

    def __init__(self, backend: Backend, info: ModelInfo) -> None:
        self.backend = backend
        self.info = info

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, float]:
        started = time.perf_counter()
        hidden = self.backend.run(input_ids, attention_mask)
        return pool(hidden, attention_mask, self.info), time.perf_counter() - started

    def __repr__(self) -> str:
        return f"{self.backend.name} {self.backend.device}"


@dataclass(frozen=True, slots=True)
class Load:
    """How the worker builds its model: picklable, run in the child."""

    choice: str
    info: ModelInfo
    cache: Path
    gpu: bool
    fp16: bool
    threads: int
    int8: bool
    random_weights: bool = False  # torch only: the architecture untrained, to time it
    nice: int = 0  # added to the worker's niceness: the OS runs it after nicer work

    def __call__(self) -> Runner:
        if self.nice:
            os.nice(self.nice)
            # The worker has a session, so an autogroup, of its own: where the kernel
            # groups by session, niceness ranks only within one, so set the group's too.
            with contextlib.suppress(OSError):
                Path("/proc/self/autogroup").write_text(str(self.nice))
        if self.random_weights:
            return Runner(TorchBackend(self.info, fp16=self.fp16, random_weights=True), self.info)
        backend = choose(
            self.choice,
            self.info,
            self.cache,
            gpu=self.gpu,
            fp16=self.fp16,
            threads=self.threads,
            int8=self.int8,
        )
        return Runner(backend, self.info)


class ModelWorker(Worker):
    """The model in a supervised worker process of its own."""

    def __init__(self, name: str, load: Load, *, shutdown_timeout: float = 1.0) -> None:
        super().__init__(name, load, shutdown_timeout=shutdown_timeout)

    @property
    def backend(self) -> str:
        return self.description.partition(" ")[0] or "starting"

    @property
    def device(self) -> str:
        return self.description.partition(" ")[2] or "none"

    async def infer(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, *, within: float
    ) -> tuple[np.ndarray, float]:
        await self.started()  # the time to start a new worker is not the model's
        with anyio.move_on_after(within):
            result: tuple[np.ndarray, float] = await self.call("run", input_ids, attention_mask)
            return result
        self.kill()
        raise _hung(self.name, within, "it is started again")


class InThread:
    """The model in this process, in a worker thread: for tests and benchmarks of the batcher."""

    def __init__(self, backend: Backend, info: ModelInfo) -> None:
        self.runner = Runner(backend, info)

    @property
    def backend(self) -> str:
        return self.runner.backend.name

    @property
    def device(self) -> str:
        return self.runner.backend.device

    async def infer(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, *, within: float
    ) -> tuple[np.ndarray, float]:
        with anyio.move_on_after(within):
            return await anyio.to_thread.run_sync(
                self.runner.run, input_ids, attention_mask, abandon_on_cancel=True
            )
        raise _hung(self.backend, within, "a thread cannot be ended")


def _hung(name: str, within: float, then: str) -> Timeout:
    return Timeout(f"the model {name} took over {within:g} seconds for one batch; {then}")
