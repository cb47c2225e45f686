"""Deciding what a file is from its bytes; its name is only a tie-breaker between texts."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Final

from charset_normalizer import from_bytes

from ..errors import UnsupportedMediaType

PDF: Final = "application/pdf"
DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML: Final = "text/html"
MARKDOWN: Final = "text/markdown"
TEXT: Final = "text/plain"
CSV: Final = "text/csv"
JSON: Final = "application/json"
ALLOWED: Final = (PDF, DOCX, HTML, MARKDOWN, TEXT, CSV, JSON)
MAX_UNZIPPED: Final = 200 * 1024 * 1024
MAX_RATIO: Final = 100
_BINARY_MAGIC: Final = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"\x7fELF",
    b"MZ",
    b"\x1f\x8b",
    b"BZh",
    b"7z\xbc\xaf",
)


def decode(data: bytes) -> str | None:
    """The text of `data`, or None when it is not text in any charset."""
    if not data:
        return ""
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(data[:200_000]).best()
        return str(best) if best is not None and best.encoding else None


def sniff(head: bytes, filename: str, data: bytes | None = None) -> str:
    """The media type of a file from its first bytes (and all of them for text checks).

    Raises `UnsupportedMediaType` (415) for anything outside the allow-list.
    """
    name = filename.lower()
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        if data is not None and _is_docx(data):
            return DOCX
        raise UnsupportedMediaType("a ZIP archive that is not a DOCX document")
    if head.startswith(_BINARY_MAGIC):
        raise UnsupportedMediaType(
            "this kind of file is not accepted: send PDF, DOCX, HTML, Markdown, text, CSV or JSON"
        )
    text = decode(data if data is not None else head)
    if text is None:
        raise UnsupportedMediaType(
            "binary content is not accepted: send PDF, DOCX, HTML, Markdown, text, CSV or JSON"
        )
    stripped = text.lstrip()[:512].lower()
    if stripped.startswith(("<!doctype html", "<html")) or (
        name.endswith((".html", ".htm")) and "<" in stripped
    ):
        return HTML
    if stripped.startswith(("{", "[")):
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            pass
        else:
            return JSON
    if name.endswith(".csv"):
        return CSV
    if name.endswith((".md", ".markdown")) or stripped.startswith("# "):
        return MARKDOWN
    return TEXT


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "word/document.xml" not in archive.namelist():
                return False
            if bomb(archive):
                # Refused before anything is stored; extraction checks again.
                raise UnsupportedMediaType("the DOCX unpacks to too much data (a zip bomb?)")
            return True
    except zipfile.BadZipFile:
        return False


def bomb(archive: zipfile.ZipFile) -> bool:
    """The archive's declared contents are too large, or too compressed to be a document."""
    unpacked = sum(info.file_size for info in archive.infolist())
    packed = max(1, sum(info.compress_size for info in archive.infolist()))
    return unpacked > MAX_UNZIPPED or unpacked / packed > MAX_RATIO
