"""Answering a question from the documents a user may read, with numbered sources.

An answer is prepared first (retrieval, the providers to try, the hourly cap)
so that what can go wrong before any output is an HTTP error; its events then
stream: sources, tokens, and done or error. Without a provider, or without a
passage worth citing, the answer is extractive: the sentences of the sources
that best answer the question, each cited. A question of a conversation is
retrieved with the conversation's context (followup.py) and its answer is
recorded as the conversation's next turn.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

import anyio
from beanie import PydanticObjectId

from ..documents.access import readable_areas
from ..errors import AissError, TooManyRequests, UpstreamFailed
from ..llm.calls import CallFailed, Deadlines, Target, Usage, stream
from ..storage.models import Area, RagQuery
from ..storage.vectors import Keywords
from . import extractive, followup, prompt
from .conversations import Conversations
from .fusion import rrf

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ..config import Settings
    from ..documents.knowledge import Knowledge
    from ..documents.library import Hit
    from ..llm.providers import Providers
    from ..metrics import Metrics
    from ..storage.models import LlmProvider
    from ..storage.mongo import MongoStore
    from ..storage.vectors import SearchMode
    from ..users.views import Principal

logger = logging.getLogger("aiss.rag")
QUESTION_CHARS: Final = 4000  # of a question, at most
REWRITE_SECONDS: Final = 10.0  # for a model to rewrite a follow-up, all providers together


@dataclass(frozen=True)
class Question:
    text: str
    area_ids: list[str] | None = None
    include_personal: bool = True
    max_sources: int = 5
    provider_id: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    mode: SearchMode | None = None  # None: the server's default
    history: tuple[followup.Turn, ...] = ()  # the conversation's earlier turns, oldest first
    conversation_id: str = ""


@dataclass
class Outcome:
    query_id: str = ""
    answer: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    mode: str = "extractive"
    provider: str | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    error: str = ""
    standalone: str = ""  # the follow-up as a model rewrote it, when one did
    retrieval_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0


class Answerer:
    def __init__(
        self,
        knowledge: Knowledge,
        mongo: MongoStore,
        providers: Providers,
        settings: Settings,
        metrics: Metrics | None = None,
        keywords: Keywords | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.mongo = mongo
        self.metrics = metrics
        self.providers = providers
        self.deadlines = Deadlines(settings.llm_first_token_timeout, settings.llm_token_timeout)
        self.ollama_host = settings.ollama_host
        self.keywords = keywords or Keywords(settings.keyword_language)
        # Scores are cosines only in dense search: the cosine threshold applies there alone.
        self.default_mode: SearchMode = settings.search_mode
        self.conversations = Conversations(mongo)

    async def prepare(self, principal: Principal, question: Question) -> Answer:
        """Retrieve, pick the providers and count the first against its cap."""
        started = time.perf_counter()
        area = await self._area(principal, question.area_ids)
        chain = await self._chain(question.provider_id, area)
        standalone = ""
        if question.history and chain:
            standalone = await self._rewrite(question, chain) or ""
        if standalone:
            searches = [(standalone, 1.0)]
        else:
            searches = followup.searches(question.text, question.history)
        hits = await self._retrieve(principal, question, searches)
        dense = (question.mode or self.default_mode) == "dense"
        threshold = prompt.MIN_SCORE if dense else None
        outcome = Outcome(sources=prompt.sources_of(hits, question.max_sources, threshold))
        outcome.standalone = standalone
        outcome.retrieval_ms = (time.perf_counter() - started) * 1000
        if not outcome.sources:
            chain = []
        if chain:
            chain = await self._first_within_cap(chain)
            system = area.system_prompt if area and area.system_prompt else None
            system = system or await self.providers.system_prompt()
        else:
            system = ""
        return Answer(self, principal, question, outcome, chain, system, started)

    async def _retrieve(
        self, principal: Principal, question: Question, searches: list[tuple[str, float]]
    ) -> list[Hit]:
        """The hits of each search, fused by reciprocal rank when there are several.

        A fused hit keeps the best score any search gave it.
        """
        pool = question.max_sources * prompt.PER_DOCUMENT * 2
        rankings: list[list[Hit]] = [[] for _ in searches]

        async def one(i: int, text: str) -> None:
            rankings[i] = await self.knowledge.search(
                principal,
                text,
                scope=None if question.include_personal else "shared",
                area_ids=question.area_ids,
                tags=None,
                limit=pool,
                mode=question.mode,
            )

        if len(searches) == 1:
            await one(0, searches[0][0])
            return rankings[0]
        async with anyio.create_task_group() as tg:
            for i, (text, _) in enumerate(searches):
                tg.start_soon(one, i, text)
        best: dict[tuple[str, int], float] = {}
        for hit in (hit for ranking in rankings for hit in ranking):
            key = _key(hit)
            best[key] = max(best.get(key, hit.score), hit.score)
        fused = rrf(rankings, _key, [weight for _, weight in searches])
        return [replace(hit, score=best[_key(hit)]) for hit in fused]

    async def _rewrite(self, question: Question, chain: list[LlmProvider]) -> str | None:
        """The follow-up as a standalone question, from the first provider that writes one."""
        messages = followup.rewrite_messages(question.text, question.history)
        with anyio.move_on_after(REWRITE_SECONDS):
            for provider in chain:
                if await self.providers.take(provider):
                    continue  # at its hourly cap
                parts: list[str] = []
                try:
                    tokens = stream(
                        self.target(provider),
                        messages,
                        self.deadlines,
                        temperature=0,
                        max_tokens=followup.REWRITE_TOKENS,
                    )
                    async for text in tokens:
                        parts.append(text)
                except CallFailed as exc:
                    logger.warning(
                        "rewriting a follow-up failed",
                        extra={"provider": provider.name, "reason": exc.reason},
                    )
                    continue
                rewritten = followup.standalone("".join(parts))
                if rewritten:
                    return rewritten
        return None

    async def _area(self, principal: Principal, area_ids: list[str] | None) -> Area | None:
        """The first named area the caller may read: its prompt and model come first."""
        readable = readable_areas(principal)
        for area_id in area_ids or []:
            if PydanticObjectId.is_valid(area_id) and (readable is None or area_id in readable):
                with self.mongo.breaker.guard():
                    area = await Area.get(PydanticObjectId(area_id))
                if area is not None:
                    return area
        return None

    async def _chain(self, provider_id: str | None, area: Area | None) -> list[LlmProvider]:
        """The providers to try in order: the asked one alone, else area's, default, others."""
        if provider_id:
            return [await self.providers.get(provider_id)]
        every = await self.providers.all()
        first = area.primary_llm if area else ""
        return sorted(every, key=lambda p: (str(p.id) != first, not p.is_default, p.name))

    async def _first_within_cap(self, chain: list[LlmProvider]) -> list[LlmProvider]:
        waits = []
        for i, provider in enumerate(chain):
            wait = await self.providers.take(provider)
            if not wait:
                return chain[i:]
            waits.append(wait)
        raise TooManyRequests(
            "the hourly request cap of every LLM provider is reached", retry_after=min(waits)
        )

    def target(self, provider: LlmProvider) -> Target:
        return Target.of(provider, self.providers.api_key(provider), self.ollama_host)


@dataclass
class Answer:
    """A prepared answer; `events()` yields ("sources", list), ("token", str)...,
    then ("done", Outcome) or ("error", AissError)."""

    answerer: Answerer
    principal: Principal
    question: Question
    outcome: Outcome
    chain: list[LlmProvider]
    system: str
    started: float

    async def events(self) -> AsyncIterator[tuple[str, Any]]:
        outcome = self.outcome
        yield "sources", prompt.public(outcome.sources)
        failure: AissError | None = None
        if not self.chain:
            outcome.answer = extractive.answer(
                self.question.text,
                [(s["n"], s["text"]) for s in outcome.sources],
                self.answerer.keywords,
                context=followup.context(self.question.history),
            )
            yield "token", outcome.answer
        else:
            outcome.mode = "llm"
            parts: list[str] = []
            try:
                async for text in self._written():
                    parts.append(text)
                    yield "token", text
            except AissError as exc:
                failure = exc
                outcome.error = exc.message
            outcome.answer = "".join(parts)
        outcome.total_ms = (time.perf_counter() - self.started) * 1000
        await self._record()
        yield ("error", failure) if failure else ("done", outcome)

    async def _written(self) -> AsyncIterator[str]:
        """Tokens from the first provider that starts answering; the others are fallbacks."""
        outcome, question = self.outcome, self.question
        messages = prompt.messages(
            self.system,
            question.text,
            outcome.sources,
            followup.history_messages(question.history),
        )
        reasons: list[str] = []
        for i, provider in enumerate(self.chain):
            if i and await self.answerer.providers.take(provider):
                reasons.append(f"{provider.name}: hourly cap reached")
                continue
            target = self.answerer.target(provider)
            outcome.provider, outcome.model = provider.name, provider.model
            tokens = stream(
                target,
                messages,
                self.answerer.deadlines,
                temperature=question.temperature,
                max_tokens=question.max_tokens,
                usage=outcome.usage,
            )
            metrics = self.answerer.metrics
            try:
                async for text in tokens:
                    if outcome.first_token_ms is None:
                        outcome.first_token_ms = (time.perf_counter() - self.started) * 1000
                        if metrics:
                            metrics.llm_first_token_seconds.labels(
                                provider.name, provider.model
                            ).observe(outcome.first_token_ms / 1000)
                    yield text
                if metrics:
                    metrics.llm_calls.labels(provider.name, "ok").inc()
                return
            except CallFailed as exc:
                logger.warning(
                    "LLM call failed",
                    extra={"provider": provider.name, "reason": exc.reason, "started": exc.started},
                )
                if metrics:
                    outcome_label = "broke_off" if exc.started else "failed"
                    metrics.llm_calls.labels(provider.name, outcome_label).inc()
                if exc.started:
                    raise UpstreamFailed(f"the answer broke off: {exc}") from None
                reasons.append(str(exc))
        raise UpstreamFailed("no LLM provider answered: " + "; ".join(reasons))

    async def _record(self) -> None:
        outcome, question = self.outcome, self.question
        record = RagQuery(
            user_id=self.principal.user_id,
            question=question.text,
            answer=outcome.answer,
            sources=prompt.public(outcome.sources),
            mode=outcome.mode,
            search_mode=question.mode or "",
            standalone=outcome.standalone,
            cited_areas=prompt.cited_areas(outcome.answer, outcome.sources),
            conversation_id=question.conversation_id,
            provider=outcome.provider or "",
            model=outcome.model or "",
            error=outcome.error,
            retrieval_ms=outcome.retrieval_ms,
            first_token_ms=outcome.first_token_ms,
            total_ms=outcome.total_ms,
            usage=vars(outcome.usage),
        )
        with self.answerer.mongo.breaker.guard():
            await record.insert()
        outcome.query_id = str(record.id)
        if question.conversation_id:
            await self.answerer.conversations.answered(record)


def _key(hit: Hit) -> tuple[str, int]:
    return hit.document.id, hit.chunk_index
