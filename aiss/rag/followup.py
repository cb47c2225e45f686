"""Follow-up questions: what to search with, and what of the conversation a model sees.

A follow-up ("and how do I make it also delete them?") names little of what
it is about. With a language model, the model first rewrites it into a
standalone question from the recent turns, and that is searched. Without one
(or when the rewrite fails), three searches are fused by reciprocal rank: the
follow-up alone, the follow-up joined to the last questions, and those
questions alone at half weight; the follow-up is in two of the three, so it
weighs most, while the context settles what the follow-up leaves open.

The answer's prompt carries the recent turns as chat messages before the
sources, newest kept first within HISTORY_TOKENS (estimated as characters / 4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

RECENT: Final = 3  # earlier questions that retrieval and the rewrite look at
HISTORY_TURNS: Final = 10  # turns read from the store for a follow-up, at most
HISTORY_TOKENS: Final = 2000
CHARS_PER_TOKEN: Final = 4
CONTEXT_WEIGHT: Final = 0.5  # the earlier questions alone, against 1 for each search with it
REWRITE_TOKENS: Final = 96
REWRITE_ANSWER_CHARS: Final = 400  # of each earlier answer the rewrite sees
REWRITE_MAX_CHARS: Final = 1000
CITATION: Final = re.compile(r"\s?\[\d+(?:\s*,\s*\d+)*\]")
QUOTES: Final = "\"'`\u201c\u201d\u2018\u2019"
LABEL: Final = re.compile(r"^(?:standalone\s+question|question|rewritten)\s*:\s*", re.I)
REWRITE_SYSTEM: Final = (
    "You rewrite the last question of a conversation into one standalone question that"
    " can be understood without the conversation: name what words such as 'it', 'that'"
    " or 'them' refer to, and keep every name, option and number. Do not answer it."
    " Reply with the question alone."
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier turn of a conversation."""

    question: str
    answer: str


def searches(question: str, history: Sequence[Turn]) -> list[tuple[str, float]]:
    """The texts to search for `question` after `history`, each with its weight in the fusion."""
    earlier = [t.question for t in history[-RECENT:]][::-1]  # the newest first
    if not earlier:
        return [(question, 1.0)]
    context = "\n".join(earlier)
    return [(question, 1.0), (f"{question}\n{context}", 1.0), (context, CONTEXT_WEIGHT)]


def context(history: Sequence[Turn]) -> str:
    """The earlier questions that the extractive answer's scoring may lean on."""
    return "\n".join(t.question for t in history[-RECENT:])


def uncited(answer: str) -> str:
    """An earlier answer without its [n]: its numbers named other sources."""
    return CITATION.sub("", answer).strip()


def rewrite_messages(question: str, history: Sequence[Turn]) -> list[dict[str, str]]:
    lines = []
    for turn in history[-RECENT:]:
        lines.append(f"User: {turn.question}")
        said = uncited(turn.answer)[:REWRITE_ANSWER_CHARS]
        if said:
            lines.append(f"Assistant: {said}")
    user = (
        "Conversation:\n"
        + "\n".join(lines)
        + f"\n\nLast question: {question}\n\nThe last question, standalone:"
    )
    return [{"role": "system", "content": REWRITE_SYSTEM}, {"role": "user", "content": user}]


def standalone(reply: str) -> str | None:
    """The question in a rewrite's reply: its first line, unlabelled and unquoted."""
    for line in reply.strip().splitlines():
        text = LABEL.sub("", line.strip()).strip().strip(QUOTES).strip()
        if text:
            return text if len(text) <= REWRITE_MAX_CHARS else None
    return None


def history_messages(history: Sequence[Turn], tokens: int = HISTORY_TOKENS) -> list[dict[str, str]]:
    """The latest turns that fit in `tokens`, oldest first, as user and assistant messages.

    The newest turn always keeps its question; its answer is cut to what fits.
    """
    budget = tokens * CHARS_PER_TOKEN
    kept: list[tuple[str, str]] = []
    for turn in reversed(history):
        said = uncited(turn.answer)
        cost = len(turn.question) + len(said)
        if cost > budget:
            if not kept and len(turn.question) < budget:
                kept.append((turn.question, said[: budget - len(turn.question)]))
            break
        kept.append((turn.question, said))
        budget -= cost
    messages = []
    for asked, said in reversed(kept):
        messages.append({"role": "user", "content": asked})
        messages.append({"role": "assistant", "content": said or "(no answer)"})
    return messages
