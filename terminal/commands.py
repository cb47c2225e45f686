"""The command log: commands, their directory, exit code, times and an output excerpt.

Local bash sessions get shell integration (`BASH_INTEGRATION`) that marks
the prompt and each command with OSC 133 sequences (A prompt, C output
starts, D;code finished), the command line with OSC 633;E and the directory
with OSC 7. SSH targets have no integration: a prompt heuristic finds
`user@host:dir$ ` prompts and takes the line typed after one as a command
(exit code unknown).
"""

from __future__ import annotations

import codecs
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from collections.abc import Callable

EXCERPT = 2048  # bytes kept from the start and from the end of a command's output
OSC = re.compile(rb"\x1b\](133|633|7);?([^\x07\x1b]*)(?:\x07|\x1b\\)")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
PROMPT = re.compile(rb"(?:^|\n)[^\n]*[\w.-]+@[\w.-]+[^\n]*[$#%] $")

BASH_INTEGRATION = r"""
[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"
__aiss_last=-
__aiss_prompt() {
    local code=$? entry number
    entry=$(HISTTIMEFORMAT= builtin history 1)
    number=${entry%%[^0-9 ]*}
    if [ "$__aiss_last" != - ] && [ "$number" != "$__aiss_last" ]; then
        entry=${entry#"$number"}
        printf '\e]633;E;%s\a' "${entry//[$'\a\e']/}"
    fi
    printf '\e]133;D;%s\a' "$code"
    __aiss_last=$number
    printf '\e]7;file://%s%s\a' "${HOSTNAME:-localhost}" "$PWD"
    printf '\e]133;A\a'
}
PROMPT_COMMAND="__aiss_prompt${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
PS0=$'\e]133;C\a'
"""


def clean(data: bytes) -> str:
    """Text without escape sequences, with backspaces applied and CRs dropped."""
    text = ANSI.sub(b"", data).decode("utf-8", "replace")
    out: list[str] = []
    for char in text:
        if char == "\b":
            if out:
                out.pop()
        elif char == "\r" or (ord(char) < 32 and char not in "\n\t"):
            continue
        else:
            out.append(char)
    return "".join(out)


@dataclass
class Command:
    command: str
    cwd: str
    started_at: float
    ended_at: float | None = None
    exit_code: int | None = None
    output: str = ""


@dataclass
class _Running:
    started_at: float
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    line: str = ""

    def add(self, data: bytes) -> None:
        if len(self.head) < EXCERPT:
            self.head += data[: EXCERPT - len(self.head)]
        self.tail = (self.tail + data)[-EXCERPT:]

    def excerpt(self, total: int) -> str:
        if total <= EXCERPT:
            return clean(bytes(self.head))
        return clean(bytes(self.head)) + "\n…\n" + clean(bytes(self.tail))


class CommandLog:
    """A session sink that calls `done(command)` as each command finishes."""

    def __init__(self, done: Callable[[Command], None], *, heuristic: bool) -> None:
        self.done = done
        self.heuristic = heuristic
        self.last: Command | None = None
        self.cwd = ""
        self._running: _Running | None = None
        self._bytes = 0
        self._line = ""  # heuristic mode: the command being typed after a prompt
        self._at_prompt = False
        self._tail = b""
        self._typed = codecs.getincrementaldecoder("utf-8")("replace")

    # -- the sink ----------------------------------------------------------------------

    def output(self, data: bytes) -> None:
        if self.heuristic:
            self._guess(data)
            return
        position = 0
        for match in OSC.finditer(data):
            self._collect(data[position : match.start()])
            position = match.end()
            self._mark(match.group(1), match.group(2).decode("utf-8", "replace"))
        self._collect(data[position:])

    def input(self, data: bytes, echo_off: bool) -> None:
        if not self.heuristic or not self._at_prompt or echo_off:
            return
        for char in self._typed.decode(data):  # a character may come in two pieces
            if char in "\r\n":
                if self._line.strip():
                    self._running = _Running(time.time(), line=self._line.strip())
                    self._bytes = 0
                self._line = ""
                self._at_prompt = False
            elif char in "\x7f\b":
                self._line = self._line[:-1]
            elif char.isprintable():
                self._line += char

    def resize(self, cols: int, rows: int) -> None:
        return None

    async def room(self) -> None:
        return None  # it keeps an excerpt, never more

    # -- OSC 133 -----------------------------------------------------------------------

    def _collect(self, data: bytes) -> None:
        if self._running is not None and data:
            self._running.add(data)
            self._bytes += len(data)

    def _mark(self, kind: bytes, body: str) -> None:
        if kind == b"7":
            self.cwd = unquote(urlparse(body).path) or self.cwd
        elif kind == b"133" and body.startswith("C"):
            self._running = _Running(time.time())
            self._bytes = 0
        elif kind == b"633" and body.startswith("E;") and self._running is not None:
            self._running.line = body[2:].strip()
        elif kind == b"133" and body.startswith("D") and self._running is not None:
            code = body[2:].split(";", 1)[0]
            self._finish(int(code) if code.lstrip("-").isdigit() else None)

    def _finish(self, exit_code: int | None) -> None:
        running, self._running = self._running, None
        if running is None or not running.line:
            return
        self.last = Command(
            command=running.line[:4000],
            cwd=self.cwd,
            started_at=running.started_at,
            ended_at=time.time(),
            exit_code=exit_code,
            output=running.excerpt(self._bytes),
        )
        self.done(self.last)

    # -- the prompt heuristic ----------------------------------------------------------

    def _guess(self, data: bytes) -> None:
        self._collect(data)
        self._tail = (self._tail + data)[-512:]
        if PROMPT.search(ANSI.sub(b"", self._tail)):
            if self._running is not None:
                self._finish(None)
            self._at_prompt = True
            self._tail = b""
