"""Sources chosen from search hits, and the numbered prompt."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from ..documents.access import PERSONAL_AREA
from ..documents.retrieval import DENSE_FLOOR

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..documents.library import Hit

PERSONAL = PERSONAL_AREA  # the area of a personal document, as feedback counts it
PER_DOCUMENT = 2  # passages of one document among the sources, at most
MIN_SCORE = DENSE_FLOOR  # a cosine: dense search's; hybrid search applies it in the engine
CITED = re.compile(r"\[([0-9]+(?:\s*,\s*[0-9]+)*)\]")  # ASCII digits, as the prompt numbers them
SNIPPET = 400
PROMPT_BUDGET = 12_000  # characters of source text in one prompt


def sources_of(
    hits: Sequence[Hit], limit: int, threshold: float | None = MIN_SCORE
) -> list[dict[str, Any]]:
    """The best `limit` hits (above `threshold`, if any), at most PER_DOCUMENT of one document."""
    per_document: Counter[str] = Counter()
    chosen: list[dict[str, Any]] = []
    for hit in hits:
        document_id = str(hit.document.id)
        if threshold is not None and hit.score < threshold:
            continue
        if per_document[document_id] >= PER_DOCUMENT:
            continue
        per_document[document_id] += 1
        chosen.append(
            {
                "n": len(chosen) + 1,
                "document_id": document_id,
                "title": hit.document.title,
                "chunk_index": hit.chunk_index,
                "page": hit.page or None,
                "snippet": hit.text[:SNIPPET],
                "score": hit.score,
                "link": hit.document.link or None,
                "text": hit.text,
                "area": hit.document.area_id if hit.document.scope == "shared" else PERSONAL,
            }
        )
        if len(chosen) == limit:
            break
    return chosen


def public(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sources as clients see them (the whole passage went to the model only)."""
    return [{k: v for k, v in s.items() if k not in ("text", "area")} for s in sources]


def cited_areas(answer: str, sources: list[dict[str, Any]]) -> list[str]:
    """The areas of the sources `answer` cites as [n] (all of them if it cites none)."""
    # Compared as text: a model can write a number too long for int().
    numbers = {n.strip().lstrip("0") for group in CITED.findall(answer) for n in group.split(",")}
    cited = [s for s in sources if str(s["n"]) in numbers] or sources
    return sorted({str(s.get("area", PERSONAL)) for s in cited})


def messages(
    system: str,
    question: str,
    sources: list[dict[str, Any]],
    history: Sequence[dict[str, str]] = (),
) -> list[dict[str, str]]:
    """The system prompt, the conversation so far, then the sources and the question."""
    budget = PROMPT_BUDGET // max(1, len(sources))
    blocks = []
    for s in sources:
        where = f", page {s['page']}" if s["page"] else ""
        blocks.append(f"[{s['n']}] {s['title']}{where}\n{s['text'][:budget]}")
    user = (
        "Sources:\n\n"
        + "\n\n".join(blocks)
        + f"\n\nQuestion: {question}\n\nAnswer from the sources above and cite them as [n]."
    )
    return [
        {"role": "system", "content": system},
        *history,
        {"role": "user", "content": user},
    ]
