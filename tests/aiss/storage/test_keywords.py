"""Keyword vectors: terms, identifiers, languages, and BM25's term-frequency half."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiss.storage.vectors.keywords import ASKING, Keywords, SparseVector, index_of


def test_identifiers_are_one_term_and_their_parts() -> None:
    terms = Keywords().terms("Use --numeric-owner; error ERR_SSL_PROTOCOL in v2.1.0")
    assert "numeric-owner" in terms and "owner" in terms and "numer" in terms
    assert "err_ssl_protocol" in terms and "ssl" in terms
    assert "v2.1.0" in terms
    # A question that writes the identifier asks for it, not for pages that say "owner".
    query = Keywords().query("tar --numeric-owner")
    assert set(query.indices) == {index_of("tar"), index_of("numeric-owner")}


def test_stemming_follows_the_language() -> None:
    assert Keywords("english").terms("running restarts") == ["run", "restart"]
    assert Keywords("german").terms("Häuser") == Keywords("german").terms("Haus")
    assert Keywords("french").terms("chevaux") == Keywords("french").terms("cheval")
    assert Keywords("english").terms("chevaux") != Keywords("english").terms("cheval")
    assert Keywords("none").terms("Running") == ["running"]
    # Function words of the language are no terms; in an identifier they stay.
    assert Keywords("english").terms("the owner of a file") == ["owner", "file"]
    assert Keywords("german").terms("der Besitzer einer Datei") == ["besitz", "datei"]
    assert Keywords("english").terms("--no-the") == ["no-the"]
    assert Keywords("english").terms("how do I use -i") == ["how", "do", "use"]
    with pytest.raises(ValueError, match="no stemmer"):
        Keywords("klingon")


def test_term_dimensions_never_change() -> None:
    """Indexes store these numbers: a different hash would orphan every keyword vector."""
    assert [index_of(t) for t in ("git", "clean", "numeric-owner")] == [
        1_368_285_564,
        1_907_404_105,
        1_926_853_553,
    ]


def weights(vector: SparseVector) -> dict[int, float]:
    return dict(zip(vector.indices, vector.values, strict=True))


def test_repeats_saturate_and_long_texts_weigh_less() -> None:
    keywords = Keywords()
    once = weights(keywords.document("stash"))
    many = weights(keywords.document("stash " * 50))
    (term,) = once
    assert once[term] < many[term] < 2.2  # BM25's saturation: below k1 + 1
    long = weights(keywords.document("stash " + "word " * 300))
    assert long[term] < once[term]


@given(st.text(max_size=300))
def test_a_query_of_a_texts_words_matches_it(text: str) -> None:
    keywords = Keywords()
    document, query = keywords.document(text), keywords.query(text)
    assert set(query.indices) <= set(document.indices)
    assert list(document.indices) == sorted(document.indices)
    assert all(v > 0 for v in document.values)
    asking = frozenset(ASKING["english"].split())
    assert bool(query) == bool(keywords.terms(text, parts=False, skip=asking))


def test_a_question_is_looked_for_by_what_it_asks_about() -> None:
    keywords = Keywords()
    assert keywords.query("how do I rebase?") == keywords.query("rebase")
    assert not keywords.query("how about that")
    # Words whose stems are a question word's stay: "doing" is not "do", "Doe" not "does".
    assert len(keywords.query("doing backups").indices) == 2
    assert len(keywords.query("John Doe contract").indices) == 3
    # Passages keep those words: "when" can be what a passage is about.
    assert keywords.terms("when") == ["when"]
