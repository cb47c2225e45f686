"""The answer without a language model: the few sentences that best answer the question.

Every sentence of the sources is a candidate (headings aside, and a sentence
repeated by overlapping passages only once). Each is scored against the
question by BM25 over the candidates: the question's terms (the keyword
index's terms, so stemmed, and identifiers whole and in parts) weighed by how
rare they are among the candidates, their counts saturated and normalised by
the sentence's length. Terms of the conversation's earlier questions count
for CONTEXT_WEIGHT of that; words every question has ("how", "do", "the")
count for nothing. A better-ranked source adds a little (RANK_BONUS). The best
sentences, up to MAX_SENTENCES and MAX_CHARS in all, are shown in the order
of their sources and of the text, each followed by its source's [n]. When no
sentence shares a term with the question, the best passage's first sentences
are the answer.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .sentences import split

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..storage.vectors import Keywords
    from .sentences import Kind

MAX_SENTENCES: Final = 3
MAX_CHARS: Final = 600
RANK_BONUS: Final = 0.3  # the first source's sentences weigh 1.3 times, the second's 1.15...
CONTEXT_WEIGHT: Final = 0.3
RELATIVE: Final = 0.3  # a sentence scoring under this share of the best is left out
SIMILAR: Final = 0.8  # sentences sharing this share of their terms say the same thing
K1: Final = 1.2
B: Final = 0.75
NOTHING: Final = "No passage of the documents you may read answers this."
# Words of questions that say nothing about what is asked.
COMMON: Final = (
    "a about all also am an and any are as at be been but by can could did do does doing "
    "for from had has have how i if in into is it its me my of on or our please should so "
    "some than that the their them then there these they this those to us was we were what "
    "when where whether which who whom whose why will with would you your"
)


@dataclass(frozen=True, slots=True)
class Pick:
    """One sentence of the answer: its text, its source's number and where it stands."""

    text: str
    n: int
    source: int  # the source's rank, 0 first
    position: int  # the sentence's place in its source
    kind: Kind
    score: float


@dataclass(frozen=True, slots=True)
class _Candidate:
    text: str
    n: int
    source: int
    position: int
    kind: Kind
    terms: Counter[str]


def choose(
    question: str,
    passages: Sequence[tuple[int, str]],
    keywords: Keywords,
    *,
    context: str = "",
    limit: int = MAX_SENTENCES,
    budget: int = MAX_CHARS,
) -> list[Pick]:
    """The sentences of `passages` ((n, text), best first) that answer `question`, in order."""
    candidates = _candidates(passages, keywords)
    if not candidates:
        return []
    weights = _weights(question, context, keywords)
    scored = _scores(candidates, weights)
    ranked = sorted((i for i, s in enumerate(scored) if s > 0), key=lambda i: (-scored[i], i))
    chosen: list[int] = []
    if ranked:
        best = scored[ranked[0]]
        used = 0
        for i in ranked:
            if len(chosen) == limit or scored[i] < RELATIVE * best:
                break
            size = len(candidates[i].text) + 5  # and its " [n]"
            if chosen and used + size > budget:
                continue
            if any(_similar(candidates[i], candidates[j]) for j in chosen):
                continue
            chosen.append(i)
            used += size
    else:
        chosen = _opening(candidates, limit, budget)
    return [
        Pick(c.text, c.n, c.source, c.position, c.kind, scored[i])
        for i, c in sorted(((i, candidates[i]) for i in chosen), key=lambda p: p[0])
    ]


def compose(picks: Sequence[Pick]) -> str:
    """The picked sentences with their citations: prose flows on, code stands on its lines."""
    if not picks:
        return NOTHING
    parts: list[str] = []
    for i, pick in enumerate(picks):
        if i:
            apart = pick.kind == "line" or picks[i - 1].kind == "line"
            parts.append("\n" if apart else " ")
        parts.append(f"{pick.text} [{pick.n}]")
    return "".join(parts)


def answer(
    question: str, passages: Sequence[tuple[int, str]], keywords: Keywords, *, context: str = ""
) -> str:
    return compose(choose(question, passages, keywords, context=context))


def _candidates(passages: Sequence[tuple[int, str]], keywords: Keywords) -> list[_Candidate]:
    """Every sentence with terms, in the order of the sources; repeats only once."""
    seen: set[str] = set()
    found = []
    for rank, (n, text) in enumerate(passages):
        for position, sentence in enumerate(split(text)):
            if sentence.kind == "heading":
                continue
            shown = sentence.of(text)
            key = " ".join(shown.casefold().split())
            terms = Counter(keywords.terms(shown))
            if key in seen or not terms:
                continue
            seen.add(key)
            found.append(_Candidate(shown, n, rank, position, sentence.kind, terms))
    return found


def _weights(question: str, context: str, keywords: Keywords) -> dict[str, float]:
    common = set(keywords.terms(COMMON))
    weights = {t: CONTEXT_WEIGHT for t in keywords.terms(context) if t not in common}
    weights.update((t, 1.0) for t in keywords.terms(question) if t not in common)
    return weights


def _scores(candidates: Sequence[_Candidate], weights: dict[str, float]) -> list[float]:
    """BM25 of the weighted terms against each candidate, document frequencies among them."""
    if not weights:
        return [0.0] * len(candidates)
    n = len(candidates)
    frequency = Counter(t for c in candidates for t in c.terms if t in weights)
    idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}
    average = sum(c.terms.total() for c in candidates) / n
    scores = []
    for c in candidates:
        norm = K1 * (1 - B + B * c.terms.total() / average)
        score = sum(
            weights[t] * idf[t] * f * (K1 + 1) / (f + norm) for t, f in c.terms.items() if t in idf
        )
        scores.append(score * (1 + RANK_BONUS / (1 + c.source)))
    return scores


def _similar(a: _Candidate, b: _Candidate) -> bool:
    shared = len(a.terms.keys() & b.terms.keys())
    return shared >= SIMILAR * min(len(a.terms), len(b.terms))


def _opening(candidates: Sequence[_Candidate], limit: int, budget: int) -> list[int]:
    """The first sentences of the best passage that has any, within the limits."""
    first = candidates[0].source
    chosen: list[int] = []
    used = 0
    for i, c in enumerate(candidates):
        if c.source != first or len(chosen) == limit:
            break
        used += len(c.text) + 5
        if chosen and used > budget:
            break
        chosen.append(i)
    return chosen
