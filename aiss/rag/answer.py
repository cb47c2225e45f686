"""Answering a question from the documents a user may read, with numbered sources.

Without an LLM provider the answer is extractive: the best passages, each
cited, marked `mode: "extractive"`. Answers written by an LLM through litellm
come with the providers' calls (not yet here): a configured provider makes
the query answer 503 rather than pretend.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ServiceUnavailable
from ..storage.models import LlmProvider, RagQuery

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ..documents.library import Hit, Library
    from ..users.views import Principal

PER_DOCUMENT = 2  # passages of one document among the sources, at most
MIN_SCORE = 0.2
SNIPPET = 400


@dataclass(frozen=True)
class Question:
    text: str
    area_ids: list[str] | None = None
    include_personal: bool = True
    max_sources: int = 5


@dataclass
class Outcome:
    query_id: str = ""
    answer: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    mode: str = "extractive"
    retrieval_ms: float = 0.0
    total_ms: float = 0.0


def sources_of(hits: list[Hit], limit: int) -> list[dict[str, Any]]:
    per_document: Counter[str] = Counter()
    chosen: list[dict[str, Any]] = []
    for hit in hits:
        document_id = str(hit.document.id)
        if hit.score < MIN_SCORE or per_document[document_id] >= PER_DOCUMENT:
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
            }
        )
        if len(chosen) == limit:
            break
    return chosen


def extractive(sources: list[dict[str, Any]]) -> str:
    if not sources:
        return "No passage of the documents you may read answers this."
    lines = [f"[{s['n']}] {s['snippet']}" for s in sources]
    return "The most relevant passages of your documents:\n\n" + "\n\n".join(lines)


class Answerer:
    def __init__(self, library: Library) -> None:
        self.library = library

    async def answer(
        self, principal: Principal, question: Question
    ) -> AsyncIterator[tuple[str, Any]]:
        """Events: ("sources", list), then ("token", text)..., then ("done", Outcome)."""
        started = time.perf_counter()
        with self.library.stores.mongo.breaker.guard():
            if await LlmProvider.find_all().count():
                raise ServiceUnavailable(
                    "answers written by an LLM provider are not available yet; remove the"
                    " providers to get extractive answers"
                )
        scope = None if question.include_personal else "shared"
        hits = await self.library.search(
            principal,
            question.text,
            scope=scope,
            area_ids=question.area_ids,
            tags=None,
            limit=question.max_sources * PER_DOCUMENT * 2,
        )
        outcome = Outcome(sources=sources_of(hits, question.max_sources))
        outcome.retrieval_ms = (time.perf_counter() - started) * 1000
        yield "sources", outcome.sources
        outcome.answer = extractive(outcome.sources)
        for word in outcome.answer.split(" "):
            yield "token", word + " "
        outcome.total_ms = (time.perf_counter() - started) * 1000
        record = RagQuery(
            user_id=principal.user_id,
            question=question.text,
            answer=outcome.answer,
            sources=outcome.sources,
            mode=outcome.mode,
            retrieval_ms=outcome.retrieval_ms,
            total_ms=outcome.total_ms,
        )
        with self.library.stores.mongo.breaker.guard():
            await record.insert()
        outcome.query_id = str(record.id)
        yield "done", outcome
