"""Text out of documents, with their structure: pages, headings, paragraphs.

Runs in a worker process (`anyio.to_process`) under a memory limit and a
deadline, so that a hostile file (a decompression bomb, a huge object stream,
deep nesting) can only fail its own ingestion.
"""

from __future__ import annotations

import csv
import io
import json
import re
import resource
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from . import sniff

if TYPE_CHECKING:
    from markdown_it.token import Token

MAX_PAGES = 5000
MAX_DEPTH = 64
MEMORY_HEADROOM = 1536 * 1024**2  # address space an extraction may add to the worker's
HEADING_LEVEL = re.compile(r"\s([0-9]{1,3})$")  # of a style named "Heading 2"


class ExtractionError(Exception):
    """The file cannot be read: broken, encrypted, too large inside, or hostile."""


@dataclass
class Block:
    text: str
    page: int | None = None
    headings: tuple[str, ...] = ()


@dataclass
class Extracted:
    blocks: list[Block] = field(default_factory=list)
    pages: int = 0


def _limit_memory() -> None:
    """Cap the worker's address space at what it uses now plus a headroom, once.

    Relative, because a worker process may have imported the whole app (and
    its native libraries' reservations) before its first extraction.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        return
    with open("/proc/self/statm") as statm:
        used = int(statm.read().split()[0]) * resource.getpagesize()
    limit = used + MEMORY_HEADROOM
    resource.setrlimit(
        resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard)
    )


def extract_in_worker(data: bytes, media_type: str) -> Extracted:
    """Entry point in the worker process: limit memory, then extract."""
    _limit_memory()
    try:
        return extract(data, media_type)
    except MemoryError:
        raise ExtractionError("the document needs too much memory to read") from None
    except RecursionError:
        raise ExtractionError("the document is nested too deeply") from None


def extract(data: bytes, media_type: str) -> Extracted:
    if media_type == sniff.PDF:
        return _pdf(data)
    if media_type == sniff.DOCX:
        return _docx(data)
    text = sniff.decode(data)
    if text is None:
        raise ExtractionError("the file is not text in any known charset")
    if media_type == sniff.HTML:
        return _html(text)
    if media_type == sniff.MARKDOWN:
        return _markdown(text)
    if media_type == sniff.CSV:
        return _csv(text)
    if media_type == sniff.JSON:
        return _json(text)
    return Extracted(_paragraphs(text, None, ()), 0)


def _paragraphs(text: str, page: int | None, headings: tuple[str, ...]) -> list[Block]:
    return [Block(p.strip(), page, headings) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("the PDF is encrypted")
        if len(reader.pages) > MAX_PAGES:
            raise ExtractionError(f"the PDF has more than {MAX_PAGES} pages")
        blocks: list[Block] = []
        for number, page in enumerate(reader.pages, start=1):
            blocks += _paragraphs(page.extract_text() or "", number, ())
        return Extracted(blocks, len(reader.pages))
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ExtractionError(f"the PDF cannot be read: {type(exc).__name__}") from None


def _docx(data: bytes) -> Extracted:
    from docx import Document as Docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sniff.bomb(archive):
                raise ExtractionError("the DOCX unpacks to too much data (a zip bomb?)")
        document = Docx(io.BytesIO(data))
    except ExtractionError:
        raise
    except Exception as exc:
        raise ExtractionError(f"the DOCX cannot be read: {type(exc).__name__}") from None
    blocks: list[Block] = []
    headings: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.lower().startswith("heading"):
            # Word has 9 heading levels; a hostile style name may say "Heading 100000".
            number = HEADING_LEVEL.search(style)
            level = min(max(int(number[1]), 1), 9) if number else 1
            headings = [*headings[: level - 1], text]
            continue
        blocks.append(Block(text, None, tuple(headings)))
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            if any(cells):
                blocks.append(Block(" | ".join(cells), None, tuple(headings)))
    return Extracted(blocks, 0)


class _HtmlText(HTMLParser):
    SKIP = frozenset({"script", "style", "noscript", "template", "head"})
    BREAK = frozenset({"p", "div", "br", "li", "tr", "section", "article"}) | {
        f"h{level}" for level in range(1, 7)
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.headings: list[str] = []
        self._skipping = 0
        self._buffer: list[str] = []
        self._heading: int | None = None

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        self._buffer = []
        if not text:
            return
        if self._heading is not None:
            self.headings = [*self.headings[: self._heading - 1], text]
        else:
            self.blocks.append(Block(text, None, tuple(self.headings)))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BREAK:
            self._flush()
            if re.fullmatch(r"h[1-6]", tag):
                self._heading = int(tag[1])

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BREAK:
            self._flush()
            self._heading = None

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._buffer.append(data)


def _html(text: str) -> Extracted:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    parser._flush()
    return Extracted(parser.blocks, 0)


def _inline(token: Token) -> str:
    """The plain text of an inline token: its words and code, without the markup."""
    parts = []
    for child in token.children or ():
        if child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type in ("text", "code_inline", "html_inline", "image"):
            parts.append(child.content)
    return "".join(parts).strip()


def _markdown(text: str) -> Extracted:
    """CommonMark (with tables) by markdown-it: a `#` line inside a code fence stays
    code, and setext (`===`, `---`) headings are headings. A table row is one block."""
    from markdown_it import MarkdownIt

    blocks: list[Block] = []
    headings: list[str] = []
    row: list[str] | None = None  # the cells of the table row being read
    level: int | None = None  # of the heading being read
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        kind = token.type
        if kind == "heading_open":
            level = int(token.tag[1])
        elif kind == "inline" and level is not None:
            headings = [*headings[: level - 1], _inline(token)]
            level = None
        elif kind == "inline" and row is not None:
            row.append(_inline(token))
        elif kind in ("inline", "fence", "code_block", "html_block"):
            content = _inline(token) if kind == "inline" else token.content.strip("\n")
            if content.strip():
                blocks.append(Block(content, None, tuple(headings)))
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            if row and any(row):
                blocks.append(Block(" | ".join(row), None, tuple(headings)))
            row = None
    return Extracted(blocks, 0)


def _csv(text: str) -> Extracted:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ExtractionError(f"the CSV cannot be read: {exc}") from None
    if not rows:
        return Extracted([], 0)
    header, *body = rows
    blocks = [
        Block("; ".join(f"{h}: {v}" for h, v in zip(header, row, strict=False) if v), None, ())
        for row in body
    ]
    return Extracted([b for b in blocks if b.text] or [Block(", ".join(header))], 0)


def _json(text: str) -> Extracted:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ExtractionError(f"the JSON cannot be read: {type(exc).__name__}") from None
    blocks: list[Block] = []

    def walk(node: object, path: tuple[str, ...], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ExtractionError("the JSON is nested too deeply")
        if isinstance(node, dict):
            for key, item in node.items():
                walk(item, (*path, str(key)), depth + 1)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, (*path, str(index)), depth + 1)
        elif node is not None:
            blocks.append(Block(f"{'.'.join(path)}: {node}", None, path[:-1]))

    walk(value, (), 0)
    return Extracted(blocks, 0)
