"""Reciprocal rank fusion of several rankings of the same kind of items.

Each ranking gives an item `weight / (K + rank)` (rank 1 first), and an item's
fused score is the sum over the rankings it is in (Cormack et al., 2009): no
score scale has to be calibrated against another. Keyword and vector rankings
fuse in the vector engine; this fuses the searches a follow-up question makes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Sequence

T = TypeVar("T")

K: Final = 60


def rrf(
    rankings: Sequence[Sequence[T]],
    key: Callable[[T], Hashable],
    weights: Sequence[float] | None = None,
    k: int = K,
) -> list[T]:
    """Every item of `rankings` once, best fused first; ties keep the order first seen.

    The item kept for a key is its first occurrence in the earliest ranking.
    """
    if weights is not None and len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[Hashable, float] = {}
    items: dict[Hashable, T] = {}
    for i, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[i]
        counted: set[Hashable] = set()
        for rank, item in enumerate(ranking, start=1):
            name = key(item)
            if name in counted:
                continue  # a ranking counts an item once, at its best rank
            counted.add(name)
            items.setdefault(name, item)
            scores[name] = scores.get(name, 0.0) + weight / (k + rank)
    # Insertion order is first-seen order, and the sort is stable.
    return [items[name] for name in sorted(items, key=lambda name: -scores[name])]
