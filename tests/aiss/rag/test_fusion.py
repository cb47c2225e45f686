"""Reciprocal rank fusion of several rankings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiss.rag.fusion import rrf

RANKINGS = st.lists(st.lists(st.integers(0, 30), max_size=15), max_size=4)


@given(RANKINGS)
def test_every_item_comes_once(rankings: list[list[int]]) -> None:
    fused = rrf(rankings, lambda i: i)
    assert sorted(fused) == sorted({i for ranking in rankings for i in ranking})


@given(st.lists(st.integers(0, 30), unique=True, max_size=15))
def test_one_ranking_stays_as_it_is(ranking: list[int]) -> None:
    assert rrf([ranking], lambda i: i) == ranking
    assert rrf([ranking, ranking], lambda i: i, [1.0, 0.5]) == ranking


def test_an_item_high_in_several_rankings_wins() -> None:
    assert rrf([["a", "b", "c"], ["b", "c", "a"], ["b", "a"]], str)[0] == "b"


def test_weights_decide_between_opposite_rankings() -> None:
    first, second = ["wrong", "right"], ["right", "wrong"]
    assert rrf([first, second], str, [1.0, 2.0])[0] == "right"
    assert rrf([first, second], str, [2.0, 1.0])[0] == "wrong"
    # Two rankings that agree with a third at half weight beat one that disagrees.
    assert rrf([first, second, second], str, [1.0, 1.0, 0.5])[0] == "right"


def test_the_item_kept_is_the_first_seen_and_a_ranking_counts_it_once() -> None:
    fused = rrf([[("doc", 1), ("other", 9)], [("doc", 2)]], lambda pair: pair[0])
    assert fused == [("doc", 1), ("other", 9)]
    # Repeats lower in a ranking add nothing: x and y tie, and x was seen first.
    assert rrf([["x", "y", "y", "y"], ["y", "x"]], str) == ["x", "y"]


def test_one_weight_per_ranking() -> None:
    with pytest.raises(ValueError, match="one weight per ranking"):
        rrf([[1], [2]], lambda i: i, [1.0])
