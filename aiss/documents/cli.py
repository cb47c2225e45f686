"""`aiss reindex --scope S [--model M]`: rebuild a scope's vectors, then switch to them."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import TYPE_CHECKING

import anyio

from actors import Strategy, running

from ..embedding.tree import build_embeddings
from ..errors import AissError
from ..storage.stores import build_stores
from ..storage.vectors.edge import DataDirInUse
from ..tree import supervisor
from .tree import build_documents

if TYPE_CHECKING:
    import argparse

    from ..config import Settings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("reindex", help="rebuild a scope's vectors with a model")
    command.add_argument("--scope", choices=["personal", "shared"], required=True)
    command.add_argument(
        "--model",
        help="the model to use from now on (set it in the settings too)",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.model:
        role = "general_embedding_model" if args.scope == "shared" else "personal_embedding_model"
        settings = dataclasses.replace(settings, **{role: args.model})
    try:
        print(json.dumps(anyio.run(_reindex, settings, args.scope)))
    except DataDirInUse:
        print(
            "aiss: the embedded vector store is in use by a running server;"
            " stop it first, or use POST /api/v1/admin/reindex",
            file=sys.stderr,
        )
        return 1
    except AissError as exc:
        print(f"aiss: {exc.message}", file=sys.stderr)
        return 1
    return 0


async def _reindex(settings: Settings, scope: str) -> dict[str, object]:
    stores = build_stores(settings)
    embeddings = build_embeddings(settings)
    documents = build_documents(dataclasses.replace(settings, ingest_workers=1), stores, embeddings)
    children = [stores.tree, *filter(None, [embeddings.tree])]
    tree = supervisor(settings, "reindex", children, Strategy.ONE_FOR_ONE)
    async with running(tree):
        with anyio.fail_after(30):
            await stores.mongo.breaker.wait_healthy()
        collection, count = await documents.workers.ingestion.reindex(scope)
    return {"scope": scope, "collection": collection, "documents": count}
