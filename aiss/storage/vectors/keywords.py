"""Keyword vectors: the sparse side of hybrid search.

A text becomes its terms (Unicode words of two letters or more, casefolded,
less the language's stop words, and stemmed by its Snowball stemmer), each
weighted by how often it occurs, saturated and normalised by length as BM25
does. The engine's IDF modifier supplies the other half of BM25 from the whole
collection, so term statistics are corpus-wide and nothing here needs the corpus. A query's terms,
less the words questions are asked with, weigh 1 each.

An identifier such as `--numeric-owner`, `ERR_SSL_PROTOCOL` or `v2.1.0` is
indexed as one term as written (rare, so weighty) and also as its parts, so
that a question naming the parts ("numeric owner") finds it too. A question
that writes the identifier looks for it as written only: its parts would
rank every page that merely says "owner" and "numeric" beside the one page
that names the flag.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Final

import Stemmer

# A run of letters or digits, joined by inner dashes, dots, slashes or underscores.
WORD: Final = re.compile(r"[^\W_]+(?:[-_./:][^\W_]+)*|[^\W_]+")
PART: Final = re.compile(r"[^\W_]+")
K1: Final = 1.2
B: Final = 0.75
AVERAGE_TERMS: Final = 128.0  # a chunk of 256 model tokens holds about this many terms
LANGUAGES: Final = tuple(sorted(Stemmer.algorithms()))
# Words a question is phrased with, which English stop-word lists keep (the others'
# lists hold theirs): as keywords they would match any passage that says "how".
ASKING: Final = {
    "english": "what how which who whom whose why when where whether do does did can could"
    " should would please about me my you your",
}


def stop_words(language: str) -> frozenset[str]:
    """The function words of `language` that bm25s lists (Lucene's for English, the
    Snowball project's for the others); none for a language it does not list."""
    from bm25s import stopwords  # imports numpy and more: not when settings are read

    name = "EN" if language == "english" else language.upper()
    return frozenset(getattr(stopwords, f"STOPWORDS_{name}", ()))


@dataclass(frozen=True, slots=True)
class SparseVector:
    indices: tuple[int, ...]
    values: tuple[float, ...]

    def __bool__(self) -> bool:
        return bool(self.indices)


def index_of(term: str) -> int:
    """A stable dimension per term (a 31-bit hash; collisions only merge rare terms)."""
    return zlib.crc32(term.encode("utf-8")) & 0x7FFFFFFF


class Keywords:
    """Terms and keyword vectors of one language; `language="none"` does not stem."""

    def __init__(self, language: str = "english") -> None:
        if language != "none" and language not in LANGUAGES:
            raise ValueError(f"no stemmer for {language!r}; one of: none, {', '.join(LANGUAGES)}")
        self.language = language
        self._stemmer = None if language == "none" else Stemmer.Stemmer(language)
        self._stop = stop_words(language)
        self._asking = frozenset(ASKING.get(language, "").split())

    def __reduce__(self) -> tuple[type[Keywords], tuple[str]]:
        return Keywords, (self.language,)  # the stemmer itself does not pickle

    def terms(
        self, text: str, *, parts: bool = True, skip: frozenset[str] = frozenset()
    ) -> list[str]:
        """The terms of `text`; an identifier's parts too, unless `parts` is false. The
        words in `skip` (as written, casefolded) are left out before stemming."""
        whole: list[str] = []  # identifiers as written, unstemmed
        words: list[str] = []
        for match in WORD.finditer(text.casefold()):
            pieces = PART.findall(match.group())
            if len(pieces) == 1:
                words.append(pieces[0])
                continue
            whole.append(match.group())
            if parts:
                words.extend(pieces)
        # A single letter is noise: the "I" of "how do I" would match every `-i` option.
        words = [w for w in words if len(w) > 1 and w not in self._stop and w not in skip]
        # One call for the text: the stemmer's cost is mostly per call.
        stemmed = words if self._stemmer is None else self._stemmer.stemWords(words)
        return [*whole, *stemmed]

    def document(self, text: str) -> SparseVector:
        """BM25's term-frequency half for each term of `text`."""
        counts = Counter(index_of(t) for t in self.terms(text))
        length = sum(counts.values())
        norm = K1 * (1 - B + B * length / AVERAGE_TERMS)
        ordered = sorted(counts.items())
        return SparseVector(
            tuple(i for i, _ in ordered), tuple(n * (K1 + 1) / (n + norm) for _, n in ordered)
        )

    def query(self, text: str) -> SparseVector:
        """A question's terms, less the words it is asked with, each of weight 1."""
        terms = self.terms(text, parts=False, skip=self._asking)
        indices = tuple(sorted({index_of(t) for t in terms}))
        return SparseVector(indices, (1.0,) * len(indices))
