"""What a chunk is indexed as, and how results are shaped."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hypothesis import example, given, settings
from hypothesis import strategies as st
from tokenizers import ByteLevelBPETokenizer, Tokenizer

from aiss.documents import retrieval
from aiss.documents.library import Cited, Hit
from aiss.documents.retrieval import (
    HEADING,
    LEAD,
    Header,
    cap,
    collapse,
    header,
    indexed_texts,
    lead,
    merge_adjacent,
)
from aiss.embedding.model import describe

if TYPE_CHECKING:
    import pytest

TOKENIZER_FILE = str(describe("all-MiniLM-L6-v2", Path("/")).directory / "tokenizer.json")
TOKENIZER = Tokenizer.from_file(TOKENIZER_FILE)
TOKENIZER.enable_truncation(max_length=256)  # as the embedder's
TOKENIZER.no_padding()
COUNTER = Tokenizer.from_file(TOKENIZER_FILE)
COUNTER.no_truncation()
COUNTER.no_padding()


def doc(name: str) -> Cited:
    return Cited(name, name, "u1", "personal", "", ())


def hit(document: str, index: int, text: str | None = None, score: float = 0.5) -> Hit:
    return Hit(doc(document), index, text or f"{document} chunk {index} " * 5, score, 0)


def test_a_chunk_is_indexed_with_its_title_lead_headings_and_page() -> None:
    about = lead("", "tar - an archiving utility. It stores files. And more.")
    assert about == "tar - an archiving utility."
    head = header("tar(1)", about, ("OPTIONS", "Extraction"), 3)
    assert str(head) == "tar(1) - tar - an archiving utility.\nOPTIONS > Extraction (page 3)"
    texts = indexed_texts(TOKENIZER, 256, [head, Header("", "")], ["--numeric-owner ...", "bare"])
    assert texts == [f"{head}\n\n--numeric-owner ...", "bare"]
    # With little room the lead goes first: the heading path says more of this chunk.
    (short,) = indexed_texts(TOKENIZER, 32, [head], ["word " * 15])
    assert "\nOPTIONS > Extraction (page 3)\n\nword" in short and "archiving" not in short
    assert short.startswith("tar(1)") and tokens(short) <= 32
    assert lead("Backups of the build farm", "ignored opening") == "Backups of the build farm"
    long = lead("", "word " * 100)
    assert len(long) <= LEAD + 4 and long.endswith(" ...")
    # A hostile heading or title does not make every chunk under it huge.
    hostile = header("t" * 10_000, "", ["h" * 250_000, "x"] * 1000, None)
    assert str(hostile) == "t" * LEAD + "\n" + " > ".join(["h" * HEADING, "x"] * 3)


def tokens(text: str) -> int:
    return len(COUNTER.encode(text, add_special_tokens=True).ids)


@settings(max_examples=50, deadline=None)
@given(
    st.text(st.sampled_from("ab Überß.-\n>漢字"), max_size=600),
    st.lists(st.sampled_from(["alpha", "beta", "überlang", "x.", "漢"]), max_size=120).map(
        " ".join
    ),
)
@example("漢" * 300, "alpha " * 200)
def test_the_context_gives_way_to_the_text(line: str, text: str) -> None:
    about, _, where = line.partition(">")
    head = Header(about, where)
    (indexed,) = indexed_texts(TOKENIZER, 256, [head], [text])
    # The text stays whole, what the model reads fits, and the header is cut, never the text.
    assert indexed.endswith(text)
    fits = tokens(text) <= 256
    assert tokens(indexed) <= 256 or not fits
    if fits and tokens(f"{head}\n\n{text}") <= 256:
        assert indexed == (f"{head}\n\n{text}" if str(head) else text)


def test_a_tokenizer_that_counts_line_breaks_keeps_the_heading_path() -> None:
    bpe = ByteLevelBPETokenizer()
    corpus = "tar(1) - an archiving utility OPTIONS > Extraction word\n\n"
    bpe.train_from_iterator([corpus] * 50, vocab_size=400)
    bpe.enable_truncation(max_length=64)
    head = Header("tar(1) - " + "an archiving utility " * 10, "OPTIONS > Extraction")
    text = "word " * 20
    (indexed,) = indexed_texts(bpe, 64, [head], [text])
    # The lead gives way; the path stays, and the whole fits.
    assert "\nOPTIONS > Extraction\n\n" in indexed and indexed.endswith(text)
    assert len(bpe.encode(indexed).ids) <= 64


def test_near_duplicates_collapse_into_the_better_one() -> None:
    text = "Restart the service with systemctl restart nginx after changing the config file."
    hits = [
        hit("a", 0, text, 0.9),
        hit("b", 4, text + " ", 0.8),  # the same passage in another copy of the document
        hit("c", 1, text.replace("nginx", "apache"), 0.7),  # close, but says something else
        hit("d", 2, "Something else entirely, about backups and tapes.", 0.6),
    ]
    collapsed = collapse(hits)
    assert [h.document.id for h in collapsed] == ["a", "c", "d"]
    assert collapsed[0].also_in == (("b", "b"),)
    assert [h.document.id for h in collapse(hits, enough=2)] == ["a", "c"]


@given(
    st.lists(
        st.sampled_from(
            [
                "alpha beta gamma delta",
                "alpha beta gamma delta epsilon",
                "one two three four five six",
                "x y",
            ]
        ),
        max_size=12,
    )
)
def test_collapse_keeps_the_first_of_each_duplicate_and_the_order(texts: list[str]) -> None:
    hits = [hit(f"d{i}", i, text) for i, text in enumerate(texts)]
    kept = collapse(hits)
    # Texts below the threshold of each other all stay; exact repeats go.
    assert [h.text for h in kept] == list(dict.fromkeys(texts))


def test_passages_that_all_look_alike_cost_a_bounded_number_of_comparisons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each shares most of its word trigrams with the others, under the threshold.
    shared = " ".join(f"w{n}" for n in range(50))
    hits = [
        hit(f"d{i}", i, f"{shared} " + " ".join(f"u{i}x{n}" for n in range(12))) for i in range(600)
    ]
    compared = []

    def counted(one: frozenset[int], other: frozenset[int]) -> bool:
        compared.append(1)
        return retrieval.DUPLICATE * len(one | other) <= len(one & other)

    monkeypatch.setattr(retrieval, "alike", counted)
    assert len(collapse(hits)) == 600
    assert len(compared) <= retrieval.SKETCH * retrieval.NEAR * len(hits)


def test_copies_collapse_among_many_pages_with_one_footer() -> None:
    # A manual uploaded twice: every page ends with the same long footer.
    footer = " ".join(f"footer{n}" for n in range(60))
    pages = [" ".join(f"p{i}w{n}" for n in range(25)) + " " + footer for i in range(40)]
    hits = [hit(name, i, text) for i, text in enumerate(pages) for name in ("a", "b")]
    kept = collapse(hits)
    assert len(kept) == 40
    assert all(h.document.id == "a" and h.also_in == (("b", "b"),) for h in kept)


def test_per_document_keeps_the_best_passages_of_each() -> None:
    hits = [hit("a", 0), hit("a", 5), hit("b", 1), hit("a", 9), hit("b", 2)]
    assert [(h.document.id, h.chunk_index) for h in cap(hits, 1)] == [("a", 0), ("b", 1)]
    assert len(cap(hits, 2)) == 4


def test_adjacent_chunks_merge_without_repeating_their_overlap() -> None:
    first = "one two three four five six"
    second = "five six seven eight"  # a long block's pieces overlap
    hits = [
        hit("a", 4, second, 0.9),
        hit("b", 0, "other document", 0.8),
        hit("a", 3, first, 0.7),
        hit("a", 7, "far away", 0.6),
    ]
    merged = merge_adjacent(hits)
    assert [(h.document.id, h.chunk_index, h.chunks) for h in merged] == [
        ("a", 3, (3, 4)),
        ("b", 0, (0,)),
        ("a", 7, (7,)),
    ]
    assert merged[0].text == "one two three four five six seven eight"
    assert merged[0].score == 0.9


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 12)), unique=True, max_size=20))
def test_merging_keeps_every_chunk_once_and_runs_contiguous(found: list[tuple[str, int]]) -> None:
    hits = [hit(d, i, score=1 - n / 100) for n, (d, i) in enumerate(found)]
    merged = merge_adjacent(hits)
    covered = sorted((h.document.id, c) for h in merged for c in h.chunks)
    assert covered == sorted(found)
    for h in merged:
        assert list(h.chunks) == list(range(h.chunk_index, h.chunk_index + len(h.chunks)))
    # A run sits at the rank of its best chunk: the best hit still comes first.
    if hits:
        assert hits[0].chunk_index in merged[0].chunks
