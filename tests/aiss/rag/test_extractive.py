"""Extractive answers: the sentences of the sources that best answer the question."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from aiss.rag.extractive import (
    MAX_CHARS,
    MAX_SENTENCES,
    NOTHING,
    Pick,
    answer,
    choose,
    compose,
)
from aiss.storage.vectors import Keywords

KEYWORDS = Keywords("english")
RSYNC = (
    "rsync copies files between hosts. It is fast because it sends only the differences. "
    "The --delete option removes files from the destination that are gone from the source. "
    "Many people run it from cron every night."
)
TAR = (
    "tar bundles files into one archive. The --numeric-owner option stores user and group "
    "ids as numbers, not names. Compression is chosen with -z or -J."
)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_sentence_that_answers_is_chosen_not_the_passage() -> None:
    picks = choose(
        "How do I remove files from the destination that are gone from the source?",
        [(1, RSYNC), (2, TAR)],
        KEYWORDS,
    )
    assert picks[0].text.startswith("The --delete option removes files") and picks[0].n == 1
    text = compose(picks)
    assert "[1]" in text and "cron" not in text and "differences" not in text


def test_an_identifier_finds_its_sentence_in_a_lower_source() -> None:
    text = answer("what does --numeric-owner do?", [(1, RSYNC), (2, TAR)], KEYWORDS)
    assert text.startswith("The --numeric-owner option stores user and group ids") and "[2]" in text
    assert "--delete" not in text


def test_sentences_read_in_the_order_of_sources_and_text() -> None:
    picks = choose("files destination source archive numbers", [(1, RSYNC), (2, TAR)], KEYWORDS)
    assert [(p.source, p.position) for p in picks] == sorted((p.source, p.position) for p in picks)
    assert len(picks) <= MAX_SENTENCES


def test_without_a_shared_term_the_best_passage_opens_the_answer() -> None:
    text = answer("zeppelin weather balloon?", [(1, RSYNC), (2, TAR)], KEYWORDS)
    assert text.startswith("rsync copies files between hosts. [1]")
    assert "[2]" not in text and len(text) <= MAX_CHARS + 20
    # Only words every question has count for nothing too.
    assert answer("how do I do it?", [(1, RSYNC)], KEYWORDS).startswith("rsync copies")


def test_no_source_is_said_so() -> None:
    assert answer("anything", [], KEYWORDS) == NOTHING
    assert answer("anything", [(1, "   \n\n")], KEYWORDS) == NOTHING


def test_a_sentence_repeated_by_overlapping_passages_comes_once() -> None:
    overlap = "The --delete option removes files from the destination that are gone."
    text = answer("delete files destination", [(1, overlap), (2, overlap + " More.")], KEYWORDS)
    assert text.count("--delete") == 1


def test_code_lines_count_as_sentences_and_stand_on_their_own_lines() -> None:
    passage = "Options:\n--delete  remove extraneous files from dest dirs\n-a  archive mode\n"
    text = answer("remove extraneous files", [(1, "Intro about rsync."), (2, passage)], KEYWORDS)
    assert text.splitlines()[0] == "--delete  remove extraneous files from dest dirs [2]"


def test_the_context_of_a_conversation_breaks_ties() -> None:
    passages = [(1, "find removes old files with -delete."), (2, "rsync removes old files too.")]
    question = "and how do I make it remove old files?"

    def best(picks: list[Pick]) -> int:
        return max(picks, key=lambda p: p.score).n

    assert best(choose(question, passages, KEYWORDS)) == 1  # the better-ranked source
    assert best(choose(question, passages, KEYWORDS, context="copying with rsync")) == 2


WORDS = st.sampled_from(
    [
        "rsync",
        "delete",
        "files",
        "--delete",
        "e.g.",
        "git.config",
        "v2.1.0",
        "The",
        "Source",
        "it",
        "How?",
        "Done.",
        "\n",
        "\n\n",
        "- ",
        "```",
        "[",
        "]",
        "[3]",
        "zeppelin",
    ]
)
TEXT = st.lists(WORDS, max_size=50).map(" ".join)


@given(st.lists(TEXT, max_size=6), TEXT, TEXT)
def test_every_sentence_comes_from_the_source_it_cites(
    texts: list[str], question: str, context: str
) -> None:
    passages = [(i + 1, t) for i, t in enumerate(texts)]
    picks = choose(question, passages, KEYWORDS, context=context)
    assert len(picks) <= MAX_SENTENCES
    assert sum(len(p.text) for p in picks) <= MAX_CHARS or len(picks) == 1
    for pick in picks:
        assert 1 <= pick.n <= len(texts)
        assert flat(pick.text) in flat(texts[pick.n - 1])
    text = compose(picks)
    # Every citation added refers to an existing source; the rest is the sentences.
    rest = text
    for pick in picks:
        marker = f"{pick.text} [{pick.n}]"
        assert marker in rest
        rest = rest.replace(marker, "", 1)
    assert rest.strip() == "" or text == NOTHING
    added = re.findall(r"\[(\d+)\]", text)
    sources_markers = sum(len(re.findall(r"\[(\d+)\]", p.text)) for p in picks)
    assert len(added) == len(picks) + sources_markers
