"""The `documents` subtree: the ingestion workers, and the library routes use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors import Strategy, Supervisor

from ..tree import supervisor
from .events import EventBus
from .library import Library
from .pipeline import Ingestion, IngestWorkers
from .retrieval import Retrieval

if TYPE_CHECKING:
    from ..config import Settings
    from ..embedding.tree import Embeddings
    from ..storage.stores import Stores


@dataclass(frozen=True)
class Documents:
    tree: Supervisor
    library: Library
    workers: IngestWorkers


def build_documents(settings: Settings, stores: Stores, embeddings: Embeddings) -> Documents:
    bus = EventBus()
    ingestion = Ingestion(
        stores,
        embeddings,
        bus,
        chunk_tokens=settings.chunk_tokens,
        overlap=settings.chunk_overlap,
        retrieval=Retrieval.of(settings),
    )
    workers = IngestWorkers(ingestion, workers=settings.ingest_workers)
    tree = supervisor(settings, "documents", [workers], Strategy.ONE_FOR_ONE)
    return Documents(tree, Library(stores, embeddings, bus, workers), workers)
