"""A passage cut into sentences: the units an extractive answer is made of.

Prose ends a sentence after `.`, `!` or `?` (and any closing quotes or
brackets) when whitespace and then a capital, a digit, a quote, a bracket or a
dash follow, unless the word ending there is a known abbreviation ("e.g.",
"i.e.", "cf.") or an initial. A dot inside a token is never followed by
whitespace, so version numbers, file names and code such as `v2.1.0`,
`git.config` or `os.path.join` stay whole.

Lines are read first: a code or option line (`--delete ...`, `-v`, `$ make`,
an indented line, a line inside a fenced block, a table row) is a unit of its
own, together with the more deeply indented lines that continue it (an
option's description); a Markdown heading is a unit marked as such; a list
item starts a new stretch of prose. Units longer than MAX_CHARS are cut at a
clause or word boundary. Each unit is a span of the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["prose", "line", "heading"]

MAX_CHARS: Final = 320
FENCE: Final = re.compile(r"\s*(```|~~~)")
HEADING: Final = re.compile(r"#{1,6}\s+\S")
ITEM: Final = re.compile(r"\s*(?:[-*+•‣◦]\s+\S|\d{1,3}[.)]\s+\S)")
CODE: Final = re.compile(
    r"""
    \s*--?[^\W_]        # an option: --numeric-owner, -v
    | \s*[$%>]\s        # a shell prompt
    | \s*\|             # a table row
    | (?:\t|\ {4,})\S   # an indented (code) line
    """,
    re.VERBOSE,
)
END: Final = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s+(\S))")
OPENERS: Final = frozenset("\"'\u201c\u2018([`-*")
SPACE: Final = re.compile(r"\s")
WORD_BACK: Final = 32  # characters before a full stop that its word is looked for in
ABBREVIATIONS: Final = frozenset(
    [
        "e.g",
        "i.e",
        "cf",
        "vs",
        "etc.al",
        "al",
        "approx",
        "ca",
        "incl",
        "esp",
        "viz",
        "resp",
        "fig",
        "figs",
        "eq",
        "eqs",
        "sec",
        "ch",
        "vol",
        "no",
        "nos",
        "pp",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
    ]
)


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    kind: Kind

    def of(self, text: str) -> str:
        """The sentence as shown: prose on one line, a code line as written."""
        span = text[self.start : self.end]
        return span if self.kind == "line" else " ".join(span.split())


def split(text: str) -> list[Sentence]:
    """The units of `text`, in order; their spans never overlap."""
    units: list[Sentence] = []
    prose: list[int] = []  # [start, end] of the prose stretch being gathered
    line_unit: list[int] = []  # [start, end, indent] of an open code or option unit
    fenced = False

    def close() -> None:
        if prose:
            units.extend(_prose(text, prose[0], prose[1]))
            prose.clear()
        if line_unit:
            units.extend(_cut(text, line_unit[0], line_unit[1], "line"))
            line_unit.clear()

    offset = 0
    for raw in text.splitlines(keepends=True):
        start, offset = offset, offset + len(raw)
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        begin = start + len(line) - len(line.lstrip())
        end = begin + len(stripped)
        indent = len(line) - len(line.lstrip())
        if FENCE.match(line):
            close()
            fenced = not fenced
        elif not stripped:
            close()
        elif fenced:
            close()
            units.extend(_cut(text, begin, end, "line"))
        elif line_unit and indent > line_unit[2]:
            line_unit[1] = end  # the description under an option, say
        elif HEADING.match(line):
            close()
            units.append(Sentence(begin, end, "heading"))
        elif CODE.match(line):
            close()
            line_unit.extend((begin, end, indent))
        elif ITEM.match(line):
            close()
            prose.extend((begin, end))
        elif prose:
            prose[1] = end
        else:
            close()
            prose.extend((begin, end))
    close()
    return units


def _prose(text: str, start: int, end: int) -> list[Sentence]:
    sentences = []
    begin = start
    for match in END.finditer(text, start, end):
        if not _ends(text, begin, match):
            continue
        sentences.extend(_cut(text, begin, match.end(), "prose"))
        begin = match.start(1)
    if begin < end:
        sentences.extend(_cut(text, begin, end, "prose"))
    return sentences


def _ends(text: str, begin: int, match: re.Match[str]) -> bool:
    following = match.group(1)
    if following.islower() or not (following.isalnum() or following in OPENERS):
        return False
    if not match.group().startswith("."):
        return True
    # The word before the stop, after any whitespace (a tab, a no-break space); an
    # abbreviation is short, so a few characters back are enough.
    window = text[max(begin, match.start() - WORD_BACK) : match.start()]
    word = SPACE.split(window)[-1].lstrip("\"'\u201c\u2018([").casefold()
    if word in ABBREVIATIONS:
        return False
    return not (len(word) == 1 and word.isalpha())  # an initial: "J. Smith"


def _cut(text: str, start: int, end: int, kind: Kind) -> list[Sentence]:
    """`text[start:end]` in pieces of at most MAX_CHARS, at a clause or word boundary."""
    pieces = []
    while end - start > MAX_CHARS:
        window = text[start : start + MAX_CHARS]
        at = max(window.rfind("; "), window.rfind(", "))
        if at < MAX_CHARS // 2:
            at = max(window.rfind(" "), window.rfind("\n"))
        if at < MAX_CHARS // 4:
            at = MAX_CHARS - 1
        cut = start + at + 1
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append(Sentence(start, piece_end, kind))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append(Sentence(start, end, kind))
    return pieces
