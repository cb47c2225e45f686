"""The model, run where it cannot stall the server: a worker process, or a thread for tests.

The embedding service hands a padded batch (ids and mask) to a `Model` and
gets the pooled vectors back; only rows x dimension floats cross the pipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import anyio.to_thread

from ..workers.process import Worker
from .backends import TorchBackend, choose, pool

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from .backends import Backend
    from .model import ModelInfo


class Model(Protocol):
    """A loaded model as the embedding service drives it."""

    @property
    def backend(self) -> str: ...

    @property
    def device(self) -> str: ...

    async def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Pooled (and normalised, when the model says so) vectors of one padded batch."""


class Runner:
    """A backend and its pooling: what runs in the worker process."""

    def __init__(self, backend: Backend, info: ModelInfo) -> None:
        self.backend = backend
        self.info = info

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return pool(self.backend.run(input_ids, attention_mask), attention_mask, self.info)

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

    def __call__(self) -> Runner:
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

    def __init__(self, name: str, load: Load, *, shutdown_timeout: float = 5.0) -> None:
        super().__init__(name, load, shutdown_timeout=shutdown_timeout)

    @property
    def backend(self) -> str:
        return self.description.partition(" ")[0] or "starting"

    @property
    def device(self) -> str:
        return self.description.partition(" ")[2] or "none"

    async def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        result: np.ndarray = await self.call("run", input_ids, attention_mask)
        return result


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

    async def infer(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return await anyio.to_thread.run_sync(self.runner.run, input_ids, attention_mask)
