"""Sources chosen from search hits, the numbered prompt, and the extractive answer."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..documents.library import Hit

PER_DOCUMENT = 2  # passages of one document among the sources, at most
MIN_SCORE = 0.2
SNIPPET = 400
PROMPT_BUDGET = 12_000  # characters of source text in one prompt


def sources_of(hits: list[Hit], limit: int, threshold: float = MIN_SCORE) -> list[dict[str, Any]]:
    """The best `limit` hits above `threshold`, at most PER_DOCUMENT of one document."""
    per_document: Counter[str] = Counter()
    chosen: list[dict[str, Any]] = []
    for hit in hits:
        document_id = str(hit.document.id)
        if hit.score < threshold or per_document[document_id] >= PER_DOCUMENT:
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
            }
        )
        if len(chosen) == limit:
            break
    return chosen


def public(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sources as clients see them (the whole passage went to the model only)."""
    return [{k: v for k, v in s.items() if k != "text"} for s in sources]


def messages(system: str, question: str, sources: list[dict[str, Any]]) -> list[dict[str, str]]:
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
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def extractive(sources: list[dict[str, Any]]) -> str:
    if not sources:
        return "No passage of the documents you may read answers this."
    lines = [f"[{s['n']}] {s['snippet']}" for s in sources]
    return "The most relevant passages of your documents:\n\n" + "\n\n".join(lines)
