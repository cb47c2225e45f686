"""The vector store interface and the shapes it speaks in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .keywords import SparseVector

Distance = Literal["cosine", "dot", "euclid"]
FieldValue = str | tuple[str, ...]
# dense: nearest by embedding; sparse: by keyword vector (BM25 with the engine's
# IDF); hybrid: both, fused in the engine's query.
SearchMode = Literal["dense", "sparse", "hybrid"]
SEARCH_MODES: Final = ("dense", "sparse", "hybrid")
KEYWORDS: Final = "keywords"  # the name of the sparse vector in a collection

# The payload fields that filters may use; each gets a keyword index.
KEYWORD_FIELDS: Final = ("owner_id", "area_id", "document_id", "scope")


class CollectionMismatch(ValueError):
    """A collection exists under that name with another dimension or distance."""


@dataclass(frozen=True, slots=True)
class Point:
    id: str  # a UUID
    vector: Sequence[float]
    payload: Mapping[str, Any] = field(default_factory=dict)
    keywords: SparseVector | None = None  # stored where the collection has keyword vectors


@dataclass(frozen=True, slots=True)
class Fusion:
    """How hybrid search fuses its dense and keyword rankings in the engine."""

    method: Literal["rrf", "dbsf"] = "rrf"
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    k: int = 60  # reciprocal rank fusion's constant
    depth: int = 4  # each side ranks `depth` times the limit before fusion
    # The dense side brings only points at least this near (a cosine), so that what
    # hybrid search finds is near in meaning or shares a keyword, never neither.
    dense_floor: float | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """What to search by: `vector` (dense), `keywords` (sparse), or both fused."""

    vector: Sequence[float] | None = None
    keywords: SparseVector | None = None
    fusion: Fusion = field(default_factory=Fusion)

    @property
    def mode(self) -> SearchMode:
        if self.vector is not None and self.keywords is not None:
            return "hybrid"
        if self.keywords is not None:
            return "sparse"
        if self.vector is None:
            raise ValueError("a query needs a vector, keywords or both")
        return "dense"

    def answered_by(self, keywords: bool) -> SearchMode:
        """The mode this query is answered in, in a collection with (or without) keyword
        vectors: by its vector alone where there are no keywords, or none to look for."""
        if not keywords or (self.mode == "hybrid" and not self.keywords):
            return "dense"
        return self.mode

    def threshold(self, keywords: bool, asked: float | None) -> float | None:
        """The least score of a search by this query: a hybrid query answered by its
        vector alone keeps the floor of its dense side."""
        floor = self.fusion.dense_floor
        if self.mode != "hybrid" or self.answered_by(keywords) != "dense" or floor is None:
            return asked
        return floor if asked is None else max(asked, floor)


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VectorFilter:
    """`all` must hold, and at least one group of `any` when it is given.

    A value matches the field exactly; a tuple matches any of its items.
    Example, what a user may read: `VectorFilter(any=({"owner_id": me, "scope":
    "personal"}, {"area_id": ("a1", "a2")}))`.
    """

    all: Mapping[str, FieldValue] = field(default_factory=dict)
    any: tuple[Mapping[str, FieldValue], ...] = ()

    def __post_init__(self) -> None:
        for group in (self.all, *self.any):
            for key, value in group.items():
                if key not in KEYWORD_FIELDS:
                    raise ValueError(f"{key!r} is not a filterable field: {KEYWORD_FIELDS}")
                if isinstance(value, tuple) and not value:
                    raise ValueError(f"{key!r}: an empty tuple matches nothing")


def collection_name(scope: str, model: str, dimension: int) -> str:
    """Collections are named by scope, model and dimension: a new model gets a new one."""
    slug = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    return f"chunks__{scope}__{slug}__{dimension}"


class VectorStore(Protocol):
    """What AISS needs of a vector database.

    Every operation naming a collection also accepts an alias: a logical name
    (`general`, `personal`) that `point_alias` switches from one collection to
    another, so a re-index under a new model takes over at once.
    """

    async def create_collection(
        self, name: str, dimension: int, distance: Distance = "cosine", *, keywords: bool = True
    ) -> None:
        """Create it, with keyword vectors (unless told not to) and with payload indexes
        on `KEYWORD_FIELDS`; one of the same dimension and distance is kept as it is."""

    async def delete_collection(self, name: str) -> None: ...

    async def collections(self) -> list[str]: ...

    async def upsert(self, collection: str, points: Sequence[Point]) -> None: ...

    async def search(
        self,
        collection: str,
        query: Query | Sequence[float],
        *,
        limit: int = 10,
        filter: VectorFilter | None = None,
        score_threshold: float | None = None,
    ) -> list[Hit]:
        """Best first; a bare vector is a dense query. A collection without keyword
        vectors answers a hybrid query by its dense side, a sparse one with nothing."""

    async def has_keywords(self, name: str) -> bool:
        """Whether the collection (or alias) stores keyword vectors beside dense ones."""

    async def delete(self, collection: str, filter: VectorFilter) -> None: ...

    async def count(self, collection: str, filter: VectorFilter | None = None) -> int: ...

    async def point_alias(self, alias: str, collection: str) -> None: ...

    async def resolve(self, name: str) -> str:
        """The collection an alias points to, or `name` itself."""

    async def close(self) -> None: ...
