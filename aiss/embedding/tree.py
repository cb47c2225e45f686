"""The `embedding` subtree: one service per distinct model, shared by the roles naming it."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from tokenizers import Tokenizer

from actors import Strategy, Supervisor

from ..errors import NotFound
from ..tree import supervisor
from .model import describe
from .remote import RemoteEmbedder
from .schedule import Limits
from .service import Embedder, TextEmbedder
from .worker import Load, ModelWorker

E = TypeVar("E", bound=TextEmbedder)

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from ..auth.tokens import TokenService
    from ..config import Settings
    from .model import ModelInfo

ROLES = ("general", "personal")


@dataclass(frozen=True)
class Embeddings:
    tree: Supervisor | None  # None: the models run in the embedding role
    roles: dict[str, TextEmbedder]  # general, personal -> the service

    def find(self, model: str | None) -> TextEmbedder:
        """By role (`general` when omitted), by configured name, or by the service's name."""
        wanted = model or "general"
        if wanted in self.roles:
            return self.roles[wanted]
        for embedder in self.roles.values():
            if wanted in (embedder.info.name, embedder.name):
                return embedder
        raise NotFound(f"no embedding model {wanted!r}; ask GET /api/v1/embeddings/models")

    def services(self) -> list[TextEmbedder]:
        return list({id(e): e for e in self.roles.values()}.values())


def _by_role(settings: Settings, make: Callable[[str, ModelInfo], E]) -> dict[str, E]:
    """One embedder per configured model, shared by the roles (general, personal) naming it."""
    by_model: dict[str, E] = {}
    roles: dict[str, E] = {}
    for role, name in (
        ("general", settings.general_embedding_model),
        ("personal", settings.personal_embedding_model),
    ):
        if name not in by_model:
            by_model[name] = make(role, describe(name, settings.hf_cache))
        roles[role] = by_model[name]
    return roles


def build_embeddings(settings: Settings) -> Embeddings:
    limits = Limits(
        queue=settings.embed_queue,
        token_budget=settings.embed_token_budget,
        max_rows=settings.embed_max_batch,
        max_wait=settings.embed_max_wait,
        truncate=settings.embed_truncate,
        deadline=settings.embed_timeout,
        ingest_share=settings.embed_ingest_share,
        slice=settings.embed_slice,
    )
    threads = settings.embedding_threads or os.cpu_count() or 1
    # Each model's worker starts before its service and stops after it.
    children: list[ModelWorker | Embedder] = []

    separate = settings.embed_ingest_worker == "separate" or (
        settings.embed_ingest_worker == "auto" and not settings.use_gpu
    )

    def make(role: str, info: ModelInfo) -> Embedder:
        load = Load(
            settings.embedding_backend,
            info,
            settings.data_dir / "models",
            gpu=settings.use_gpu,
            fp16=settings.use_fp16,
            threads=threads,
            int8=settings.embedding_int8,
        )
        model = ModelWorker(f"{role}.model", load)
        # On CPUs ingestion gets a model of its own, run by the OS after everything
        # else (`AISS_EMBED_INGEST_NICE`); on a GPU it shares one, in slices.
        ingest = (
            ModelWorker(f"{role}.ingest", replace(load, nice=settings.embed_ingest_nice))
            if separate
            else None
        )

        def tokenizer() -> Tokenizer:
            return Tokenizer.from_file(str(info.directory / "tokenizer.json"))

        embedder = Embedder(role, info, tokenizer, model, limits, ingest)
        children.extend((model, *([ingest] if ingest else []), embedder))
        return embedder

    roles = _by_role(settings, make)
    tree = supervisor(settings, "embedding", children, Strategy.ONE_FOR_ONE)
    return Embeddings(tree, dict[str, TextEmbedder](roles))


def build_remote_embeddings(
    settings: Settings, client: httpx.AsyncClient, tokens: TokenService
) -> Embeddings:
    """The configured models as the embedding role serves them, at AISS_EMBEDDING_URL."""
    url = settings.role_url("embedding")

    def make(role: str, info: ModelInfo) -> TextEmbedder:
        return RemoteEmbedder(role, info, url, client, tokens)

    return Embeddings(None, _by_role(settings, make))
