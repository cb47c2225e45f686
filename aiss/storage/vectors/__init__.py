"""Vector stores: one interface, Qdrant's server and Qdrant's engine in-process."""

from .base import (
    KEYWORD_FIELDS,
    CollectionMismatch,
    Hit,
    Point,
    VectorFilter,
    VectorStore,
    collection_name,
)

__all__ = [
    "KEYWORD_FIELDS",
    "CollectionMismatch",
    "Hit",
    "Point",
    "VectorFilter",
    "VectorStore",
    "collection_name",
]
