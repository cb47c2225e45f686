"""The baselines and the metrics of bench.retrieval: BM25, dense, RRF; R@k and MRR@k by document."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import bm25s
import numpy as np
import Stemmer

if TYPE_CHECKING:
    from collections.abc import Sequence

RRF_K = 60
RRF_DEPTH = 100


class Bm25:
    """bm25s over the chunk texts: English stop words, Snowball's English stemmer, defaults."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.stem = Stemmer.Stemmer("english").stemWords
        self.model = bm25s.BM25()
        self.model.index(self.tokens(texts), show_progress=False)
        self.size = len(texts)

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        tokens: list[list[str]] = bm25s.tokenize(
            list(texts), stopwords="en", stemmer=self.stem, return_ids=False, show_progress=False
        )
        return tokens

    def top(self, query: str, k: int) -> list[int]:
        """The indices of the best `k` chunks, best first; none that share no term."""
        ids, scores = self.model.retrieve(
            self.tokens([query]), k=min(k, self.size), show_progress=False
        )
        return [int(i) for i, score in zip(ids[0], scores[0], strict=True) if score > 0]


def dense_top(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    """The `k` rows of `vectors` (normalised) nearest `query` (normalised) by cosine."""
    scores = vectors @ query
    k = min(k, len(scores))
    best = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in best[np.argsort(-scores[best], kind="stable")]]


def rrf(*rankings: Sequence[int], k: int = RRF_K, depth: int = RRF_DEPTH) -> list[int]:
    """Reciprocal rank fusion of each ranking's first `depth`: sum of 1 / (k + rank)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking[:depth], start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])


def documents(chunk_docs: Sequence[str], cutoff: int = 10) -> list[str]:
    """Ranked chunks' documents, each at its first occurrence, the first `cutoff`."""
    seen: list[str] = []
    for doc in chunk_docs:
        if doc not in seen:
            seen.append(doc)
            if len(seen) == cutoff:
                break
    return seen


def scores(ranked: Sequence[str], relevant: Sequence[str]) -> dict[str, float]:
    """R@5, R@10 (share of the relevant documents found) and MRR@10 of one ranked list."""
    wanted = set(relevant)
    first = next((n for n, doc in enumerate(ranked[:10], start=1) if doc in wanted), 0)
    return {
        "R@5": len(wanted & set(ranked[:5])) / len(wanted),
        "R@10": len(wanted & set(ranked[:10])) / len(wanted),
        "MRR@10": 1 / first if first else 0.0,
    }


@dataclass
class Run:
    """One method's ranked documents per question and its query latencies (seconds)."""

    ranked: dict[str, list[str]] = field(default_factory=dict)
    took: list[float] = field(default_factory=list)

    def timed(self, question: str, started: float, docs: Sequence[str]) -> None:
        self.took.append(time.perf_counter() - started)
        self.ranked[question] = documents(docs)

    def summary(self, questions: Sequence[tuple[str, str, list[str]]]) -> dict[str, Any]:
        """Means over all questions and per difficulty, from (id, difficulty, relevant)."""
        per = {qid: scores(self.ranked[qid], relevant) for qid, _, relevant in questions}
        groups: dict[str, list[str]] = {"all": [q[0] for q in questions]}
        for qid, difficulty, _ in questions:
            groups.setdefault(difficulty, []).append(qid)
        means = {
            group: {m: float(np.mean([per[q][m] for q in ids])) for m in ("R@5", "MRR@10", "R@10")}
            for group, ids in groups.items()
        }
        p50 = float(np.percentile(self.took, 50) * 1000) if self.took else float("nan")
        return {"p50_ms": p50, **means, "questions": per, "ranked": self.ranked}
