"""How passages are found and shaped: what a chunk is indexed as, and the results.

A chunk is indexed (embedded, and turned into keywords) with its context:
the document's title and what the document is about (its description, else
its opening sentence), the heading path and the page. So a passage that says
"this option" is found by the command it belongs to and by the task that
command does; the passage stored and shown stays the original text.

Results can be shaped: near-duplicate passages collapsed, at most so many per
document, and adjacent chunks of one document merged into one passage.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..storage.vectors import Fusion, Keywords

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tokenizers import Encoding, Tokenizer

    from ..config import Settings
    from ..storage.vectors import SearchMode
    from .library import Hit

QUERY_CHARS = 2000  # of a query that a search reads: the model reads less
DENSE_FLOOR = 0.2  # a cosine below which a passage is not near a question in meaning
DUPLICATE = 0.9  # word-trigram Jaccard similarity from which two passages are one
SKETCH = 4  # smallest shingle hashes by which passages are compared
NEAR = 8  # earlier passages that one is compared with, at most
MAX_OVERLAP = 2000  # characters of a chunk repeated at the start of the next, at most


@dataclass(frozen=True)
class Retrieval:
    mode: SearchMode = "hybrid"
    keywords: Keywords = field(default_factory=Keywords)
    fusion: Fusion = field(default_factory=Fusion)

    @classmethod
    def of(cls, settings: Settings) -> Retrieval:
        dense, keywords = settings.hybrid_weights
        return cls(
            mode=settings.search_mode,
            keywords=Keywords(settings.keyword_language),
            fusion=Fusion(
                method=settings.hybrid_fusion,
                dense_weight=dense,
                keyword_weight=keywords,
                dense_floor=DENSE_FLOOR,
            ),
        )


LEAD = 200  # characters of a document's title, and of its opening, that its chunks carry
HEADING = 100  # characters of one heading that its chunks carry, at most
HEADINGS = 6  # the innermost headings of a chunk's path that it carries
# Model tokens a chunk leaves for its context, so that the model does not cut its end.
CONTEXT_TOKENS = 48
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def lead(description: str, opening: str) -> str:
    """What a document is about, in a line: its description, else its first sentence."""
    text = " ".join((description or SENTENCE_END.split(opening.strip(), 1)[0]).split())
    if len(text) <= LEAD:
        return text
    return text[:LEAD].rsplit(" ", 1)[0] + " ..."


@dataclass(frozen=True, slots=True)
class Header:
    about: str  # the document's title and lead
    where: str  # the chunk's heading path and page

    def __str__(self) -> str:
        return "\n".join(line for line in (self.about, self.where) if line)


def header(title: str, about: str, headings: Sequence[str], page: int | None) -> Header:
    """A chunk's context: its document's title and lead, its heading path and page
    (the innermost HEADINGS headings, each cut to HEADING characters)."""
    where = " > ".join(h[:HEADING] for h in headings[-HEADINGS:] if h)
    if page:
        where = f"{where} (page {page})".lstrip()
    return Header(" - ".join(part for part in (title[:LEAD], about) if part), where)


def indexed_texts(
    tokenizer: Tokenizer, max_tokens: int, headers: Sequence[Header], texts: Sequence[str]
) -> list[str]:
    """What chunks are embedded as: each one's header, then its text.

    The header gives way to the text within what the model reads (a chunk of an
    older, larger chunking keeps less of it): the lead, which every chunk of the
    document shares, is cut first, then the heading path.
    """
    special = len(tokenizer.encode("", add_special_tokens=True).ids)
    # What the line breaks cost, for tokenizers that do not drop whitespace (BPE).
    line, gap = (_joint(tokenizer, mark) for mark in ("\n", "\n\n"))
    lines = list(dict.fromkeys(line for h in headers for line in (h.about, h.where)))
    encoded = dict(zip(lines, tokenizer.encode_batch(lines, add_special_tokens=False), strict=True))
    bodies = tokenizer.encode_batch(list(texts), add_special_tokens=False)
    indexed = []
    for head, text, body in zip(headers, texts, bodies, strict=True):
        room = max_tokens - special - len(body.ids) - gap
        where = _cut(head.where, encoded[head.where], room)
        about = _cut(head.about, encoded[head.about], room - len(encoded[head.where].ids) - line)
        joined = str(Header(about, where))
        indexed.append(f"{joined}\n\n{text}" if joined else text)
    # Tokenizers that do not split at whitespace may count more for the whole.
    whole = tokenizer.encode_batch(indexed, add_special_tokens=True)
    return [
        text if len(encoding.ids) > max_tokens or encoding.overflowing else joined
        for joined, text, encoding in zip(indexed, texts, whole, strict=True)
    ]


def _joint(tokenizer: Tokenizer, mark: str) -> int:
    """The tokens that joining two words with `mark` adds."""
    a, b, joined = tokenizer.encode_batch(["a", "b", f"a{mark}b"], add_special_tokens=False)
    return max(0, len(joined.ids) - len(a.ids) - len(b.ids))


def _cut(line: str, encoding: Encoding, tokens: int) -> str:
    """`line` cut to its first `tokens` tokens."""
    if len(encoding.ids) <= tokens:
        return line
    return line[: encoding.offsets[tokens - 1][1]].rstrip() if tokens > 0 else ""


def _shingles(text: str) -> frozenset[int]:
    words = re.findall(r"\w+", text.casefold())
    if len(words) < 3:
        return frozenset({hash(tuple(words))})
    return frozenset(map(hash, zip(words, words[1:], words[2:], strict=False)))


def alike(one: frozenset[int], other: frozenset[int]) -> bool:
    return len(one & other) >= DUPLICATE * len(one | other)


def collapse(hits: list[Hit], enough: int | None = None) -> list[Hit]:
    """Drop each passage that is a near-duplicate of a better one (a boilerplate
    footer on every page, a document uploaded twice): word-trigram Jaccard at least
    DUPLICATE. A passage another document repeats stays once, naming the others in
    `also_in`. Stops once `enough` passages are kept.

    Only passages that share one of their smallest shingle hashes are compared (a
    bottom-k sketch: two passages of Jaccard 0.9 share their smallest one with
    probability 0.9, one of the SKETCH smallest almost surely), each smallest hash
    standing for the first NEAR passages that have it: the cost grows with the
    hits, not with their pairs, even when hostile passages all look alike. An
    exact copy is always found.
    """
    kept: list[Hit] = []
    shingles: list[frozenset[int]] = []
    others: list[list[tuple[str, str]]] = []
    buckets: dict[int, list[int]] = {}
    copies: dict[frozenset[int], int] = {}
    for hit in hits:
        mine = _shingles(hit.text)
        sketch = heapq.nsmallest(SKETCH, mine)
        same = copies.get(mine)
        if same is None:
            near = sorted({i for key in sketch for i in buckets.get(key, ())})
            same = next((i for i in near if alike(mine, shingles[i])), None)
        if same is not None:
            first = kept[same].document
            if hit.document.id != first.id and all(hit.document.id != d for d, _ in others[same]):
                others[same].append((hit.document.id, hit.document.title))
            continue
        copies[mine] = len(kept)
        for key in sketch:
            bucket = buckets.setdefault(key, [])
            if len(bucket) < NEAR:
                bucket.append(len(kept))
        kept.append(hit)
        shingles.append(mine)
        others.append([])
        if enough is not None and len(kept) >= enough:
            break
    return [
        replace(hit, also_in=tuple(also)) if also else hit
        for hit, also in zip(kept, others, strict=True)
    ]


def cap(hits: list[Hit], per_document: int) -> list[Hit]:
    """At most `per_document` passages of one document, the best ones."""
    counts: dict[str, int] = {}
    kept = []
    for hit in hits:
        seen = counts.get(hit.document.id, 0)
        if seen < per_document:
            counts[hit.document.id] = seen + 1
            kept.append(hit)
    return kept


def _joined(first: str, second: str) -> str:
    """`second` after `first`, less the overlap a long block's pieces share."""
    for size in range(min(len(first), len(second), MAX_OVERLAP), 0, -1):
        if first.endswith(second[:size]):
            return first + second[size:]
    return f"{first}\n\n{second}"


def merge_adjacent(hits: list[Hit]) -> list[Hit]:
    """Chunks of one document that follow each other become one passage, in the
    document's order, at the rank and with the score of its best chunk."""
    rank = {id(hit): i for i, hit in enumerate(hits)}
    by_document: dict[str, list[Hit]] = {}
    for hit in hits:
        by_document.setdefault(hit.document.id, []).append(hit)
    runs: list[list[Hit]] = []
    for found in by_document.values():
        found.sort(key=lambda h: h.chunk_index)
        runs.append([found[0]])
        for hit in found[1:]:
            if hit.chunk_index == runs[-1][-1].chunk_index:
                continue  # the same chunk twice (from two collections)
            if hit.chunk_index == runs[-1][-1].chunk_index + 1:
                runs[-1].append(hit)
            else:
                runs.append([hit])
    runs.sort(key=lambda run: min(rank[id(h)] for h in run))
    merged = []
    for run in runs:
        best = min(run, key=lambda h: rank[id(h)])
        text = run[0].text
        for hit in run[1:]:
            text = _joined(text, hit.text)
        merged.append(
            replace(
                best,
                chunk_index=run[0].chunk_index,
                text=text,
                page=run[0].page,
                chunks=tuple(h.chunk_index for h in run),
            )
        )
    return merged
