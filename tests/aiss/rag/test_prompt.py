"""What a prompt's answer cites."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from aiss.rag.prompt import PERSONAL, cited_areas

SOURCES: list[dict[str, Any]] = [{"n": 1, "area": "a1"}, {"n": 2}, {"n": 3, "area": "a3"}]


def test_the_areas_of_the_cited_sources() -> None:
    assert cited_areas("As [1] and [03, 1] say.", SOURCES) == ["a1", "a3"]
    assert cited_areas("Only [2].", SOURCES) == [PERSONAL]
    assert cited_areas("No citation.", SOURCES) == ["a1", "a3", PERSONAL]
    assert cited_areas("Fullwidth [\uff12] is no citation; [3] is.", SOURCES) == ["a3"]


@given(st.text())
def test_whatever_a_model_writes_counts_somewhere(answer: str) -> None:
    # A citation too long for int() (a planted "[999...]") is no error either.
    for text in (answer, f"[{'9' * 5000}] {answer}"):
        assert set(cited_areas(text, SOURCES)) <= {"a1", "a3", PERSONAL}
