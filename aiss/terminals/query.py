"""Asking a question from a terminal: the answer goes to the asker's screen, never the shell.

With the user's consent the last command and its output excerpt go with the
question, so "why did this fail?" has something to look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AissError, ServiceUnavailable
from ..rag.answer import Question
from ..rag.prompt import public

if TYPE_CHECKING:
    from terminal.commands import Command

    from ..rag.answer import Answerer
    from ..users.views import Principal

CONTEXT = 3000  # characters of the last command's output sent along


@dataclass(frozen=True)
class TerminalAnswer:
    answer: str
    sources: list[dict[str, Any]]
    mode: str
    error: str = ""

    def screen(self) -> bytes:
        """The answer as terminal text: CRLF lines, the sources numbered below."""
        lines = [""]
        if self.error:
            lines.append(f"[aiss] {self.error}")
        else:
            lines.extend(self.answer.splitlines() or [""])
            if self.sources:
                lines.append("")
                lines.append("Sources:")
                for s in self.sources:
                    where = f", page {s['page']}" if s.get("page") else ""
                    lines.append(f"  [{s['n']}] {s['title']}{where}")
        lines.append("")
        return "\r\n".join(lines).encode()


def with_context(question: str, last: Command | None) -> str:
    if last is None:
        return question
    output = last.output[-CONTEXT:]
    code = "unknown" if last.exit_code is None else str(last.exit_code)
    return (
        f"{question}\n\nContext from my terminal: I ran `{last.command}` in {last.cwd or '?'}"
        f" (exit code {code}); its output ended with:\n{output}"
    )


async def ask(
    answerer: Answerer | None,
    principal: Principal,
    question: str,
    last: Command | None,
) -> TerminalAnswer:
    try:
        if answerer is None:
            raise ServiceUnavailable("this process does not answer questions")
        prepared = await answerer.prepare(principal, Question(with_context(question, last)))
        async for kind, payload in prepared.events():
            if kind == "error":
                raise payload
    except AissError as exc:
        return TerminalAnswer("", [], "error", exc.message)
    outcome = prepared.outcome
    return TerminalAnswer(outcome.answer, public(outcome.sources), outcome.mode)
