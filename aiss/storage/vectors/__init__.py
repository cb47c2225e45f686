"""Vector stores: one interface, Qdrant's server and Qdrant's engine in-process."""

from .base import (
    KEYWORD_FIELDS,
    KEYWORDS,
    SEARCH_MODES,
    CollectionMismatch,
    Fusion,
    Hit,
    Point,
    Query,
    SearchMode,
    VectorFilter,
    VectorStore,
    collection_name,
)
from .keywords import Keywords, SparseVector

__all__ = [
    "KEYWORDS",
    "KEYWORD_FIELDS",
    "SEARCH_MODES",
    "CollectionMismatch",
    "Fusion",
    "Hit",
    "Keywords",
    "Point",
    "Query",
    "SearchMode",
    "SparseVector",
    "VectorFilter",
    "VectorStore",
    "collection_name",
]
