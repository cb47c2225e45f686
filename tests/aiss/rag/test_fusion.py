"""Hybrid ranking: BM25 over the candidates fused with the vector order."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from aiss.rag.fusion import bm25, fuse, terms

WORDS = st.sampled_from(["vault", "code", "lunch", "noon", "billing", "orwell", "x-42", "spring"])
TEXTS = st.lists(st.lists(WORDS, max_size=12).map(" ".join), max_size=20)


@given(TEXTS, st.lists(WORDS, min_size=1, max_size=3).map(" ".join))
def test_fusion_reorders_and_never_drops(texts: list[str], query: str) -> None:
    fused = fuse(query, list(range(len(texts))), lambda i: texts[i])
    assert sorted(fused) == list(range(len(texts)))


@given(TEXTS)
def test_without_query_terms_the_vector_order_stays(texts: list[str]) -> None:
    items = list(range(len(texts)))
    assert fuse("zeppelin", items, lambda i: texts[i]) == items


@given(TEXTS, WORDS)
def test_a_keyword_match_never_falls_behind_where_vectors_put_it(
    texts: list[str], word: str
) -> None:
    texts = [*texts, f"the {word} here"]  # the vector ranking put this one last
    items = list(range(len(texts)))
    fused = fuse(word, items, lambda i: texts[i])
    assert fused.index(len(texts) - 1) <= len(texts) - 1
    scores = bm25(word, texts)
    assert all(s >= 0 for s in scores) and scores[-1] > 0
    # Everything that matches no term ranks behind everything that does, at the same rank.
    for before, after in itertools.pairwise(fused):
        if scores[before] == 0 and scores[after] > 0:
            assert after > before


def test_exact_identifiers_rise() -> None:
    texts = ["about vaults in general", "vault codes are secret", "error E-4012 means a full disk"]
    assert fuse("what is E-4012", [0, 1, 2], lambda i: texts[i])[0] == 2
    assert terms("What is E-4012?") == ["e-4012"]
