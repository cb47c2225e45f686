"""Hybrid ranking: keyword scores (BM25) fused with the vector ranking by reciprocal rank.

Dense models of the MiniLM size rank exact terms (identifiers, error codes,
names) poorly. The keyword side scores a wide pool of vector candidates with
BM25 over that pool, and reciprocal rank fusion merges the two orders, so
neither score scale has to be calibrated against the other.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

T = TypeVar("T")

WORD = re.compile(r"[^\W_]+(?:[-_.][^\W_]+)*", re.UNICODE)
RRF_K = 60  # the constant of reciprocal rank fusion, as in Cormack et al.
K1, B = 1.2, 0.75
# fmt: off
STOP = frozenset(
    (
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "did", "do", "does", "for",
        "from", "how", "in", "is", "it", "of", "on", "or", "that", "the", "this", "to", "was",
        "what", "when", "where", "which", "who", "why", "with",
    )
)
# fmt: on


def terms(text: str) -> list[str]:
    return [w for w in (m.group().casefold() for m in WORD.finditer(text)) if w not in STOP]


def bm25(query: str, texts: Sequence[str]) -> list[float]:
    """BM25 of `query` against each text, with document frequencies over `texts`."""
    wanted = set(terms(query))
    if not wanted or not texts:
        return [0.0] * len(texts)
    bags = [Counter(terms(t)) for t in texts]
    average = sum(sum(b.values()) for b in bags) / len(bags) or 1.0
    n = len(bags)
    idf = {
        w: math.log(1 + (n - df + 0.5) / (df + 0.5))
        for w in wanted
        for df in [sum(1 for b in bags if w in b)]
    }
    scores = []
    for bag in bags:
        length = sum(bag.values())
        score = 0.0
        for w in wanted:
            f = bag.get(w, 0)
            if f:
                score += idf[w] * f * (K1 + 1) / (f + K1 * (1 - B + B * length / average))
        scores.append(score)
    return scores


def fuse(query: str, ranked: Sequence[T], text: Callable[[T], str]) -> list[T]:
    """`ranked` (best first by vector score) reordered by fusion with the keyword ranking.

    Items without any query term keep only their vector rank's share, so they
    can fall behind keyword matches but are never dropped.
    """
    keyword = bm25(query, [text(item) for item in ranked])
    by_keyword = sorted(
        (i for i in range(len(ranked)) if keyword[i] > 0), key=lambda i: -keyword[i]
    )
    fused = [1 / (RRF_K + rank + 1) for rank in range(len(ranked))]
    for rank, i in enumerate(by_keyword):
        fused[i] += 1 / (RRF_K + rank + 1)
    order = sorted(range(len(ranked)), key=lambda i: (-fused[i], i))
    return [ranked[i] for i in order]
