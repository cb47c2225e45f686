"""Passages cut into sentences: abbreviations, versions, file names and code stay whole."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiss.rag.sentences import FENCE, MAX_CHARS, split


def shown(text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.of(text)) for s in split(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Use a mirror, e.g. Debian's, for speed.",
        "Pick one, i.e. The first one listed.",
        "It came with version 3.2.7 and stayed.",
        "Settings live in git.config and ~/.gitconfig.",
        "Call os.path.join() to build paths.",
        "See cf. Section 4 for the rest.",
        "J. Smith wrote it.",
        "Wrapped prose\nover two lines stays one sentence.",
    ],
)
def test_these_are_one_sentence(text: str) -> None:
    assert shown(text) == [("prose", " ".join(text.split()))]


def test_sentences_end_at_full_stops_questions_and_exclamations() -> None:
    text = 'It works. Does it? Yes! "Quoted." (Bracketed.) 4 more. done'
    assert [t for _, t in shown(text)] == [
        "It works.",
        "Does it?",
        "Yes!",
        '"Quoted."',
        "(Bracketed.)",
        "4 more. done",  # a lowercase word after the stop does not start a sentence
    ]
    # An abbreviation opening a later sentence is still one.
    later = shown("Intro here. Dr. Smith left.")
    assert [t for _, t in later] == ["Intro here.", "Dr. Smith left."]
    for space in ("\t", "\u00a0"):
        assert len(shown(f"Call{space}Dr. Smith now.")) == 1


def test_wrapped_lines_join_and_blank_lines_part() -> None:
    text = "Wrapped prose\nover two lines. Next one\nhere.\n\nA new paragraph"
    assert [t for _, t in shown(text)] == [
        "Wrapped prose over two lines.",
        "Next one here.",
        "A new paragraph",
    ]


def test_code_option_and_list_lines_stand_alone() -> None:
    text = (
        "# Options\n"
        "Some flags follow:\n"
        "--delete\n"
        "    delete extraneous files from the destination\n"
        "--numeric-owner  don't map uid/gid values by user/group name\n"
        "$ rsync -a src/ dst/\n"
        "| flag | meaning |\n"
        "- an item that wraps\n"
        "  onto a second line. And ends.\n"
        "- another item\n"
        "```\n"
        "# a comment in code, not a heading\n"
        "git config --global user.name x\n"
        "```\n"
    )
    assert shown(text) == [
        ("heading", "# Options"),
        ("prose", "Some flags follow:"),
        ("line", "--delete\n    delete extraneous files from the destination"),
        ("line", "--numeric-owner  don't map uid/gid values by user/group name"),
        ("line", "$ rsync -a src/ dst/"),
        ("line", "| flag | meaning |"),
        ("prose", "- an item that wraps onto a second line."),
        ("prose", "And ends."),
        ("prose", "- another item"),
        ("line", "# a comment in code, not a heading"),
        ("line", "git config --global user.name x"),
    ]


def test_long_sentences_are_cut_at_clauses() -> None:
    text = ", ".join(f"clause number {i} of a sentence that goes on" for i in range(40)) + "."
    pieces = [t for _, t in shown(text)]
    assert len(pieces) > 1 and all(len(p) <= MAX_CHARS for p in pieces)
    assert all(p.endswith((",", ".")) for p in pieces)
    assert " ".join(pieces) == text


WORDS = st.sampled_from(
    [
        "e.g.",
        "i.e.",
        "v2.1.0",
        "git.config",
        "--numeric-owner",
        "Done.",
        "Why?",
        "the",
        "A",
        "x",
        "\n",
        "\n\n",
        "  ",
        "```",
        "- ",
        "#",
        "$",
        "Mr.",
        "3.14",
        "“Quoted.”",
        "wait...",
    ]
)
TEXTS = st.lists(WORDS | st.text(max_size=12), max_size=60).map(" ".join)


@given(TEXTS)
def test_spans_are_in_order_within_the_text_and_never_blank(text: str) -> None:
    units = split(text)
    for unit in units:
        assert 0 <= unit.start < unit.end <= len(text)
        assert text[unit.start : unit.end].strip() == text[unit.start : unit.end]
        assert len(unit.of(text)) <= MAX_CHARS or unit.kind != "prose"
    for a, b in itertools.pairwise(units):
        assert a.end <= b.start
    # Nothing but whitespace and fence lines is left out.
    covered = "".join(text[u.start : u.end] for u in units)
    kept = [line for line in text.splitlines() if not FENCE.match(line)]
    assert "".join(covered.split()) == "".join("".join(kept).split())
