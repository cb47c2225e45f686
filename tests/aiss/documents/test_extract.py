"""Sniffing and extraction of each accepted kind, and of hostile files."""

from __future__ import annotations

import json

import anyio
import anyio.to_process
import pytest

from aiss.documents import sniff
from aiss.documents.extract import ExtractionError, extract, extract_in_worker
from aiss.errors import UnsupportedMediaType

from .files import deep_docx, docx_file, pdf, plain_zip, zip_bomb_docx


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (pdf(["hello"]), "x.txt", sniff.PDF),
        (docx_file({"Intro": ["text"]}), "x.pdf", sniff.DOCX),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "x.md", sniff.HTML),
        (b'{"a": [1, 2]}', "data.txt", sniff.JSON),
        (b"name,age\nann,3\n", "people.csv", sniff.CSV),
        (b"# Title\n\ntext", "notes.md", sniff.MARKDOWN),
        ("plain text, caf\u00e9".encode("latin-1"), "a.txt", sniff.TEXT),
    ],
)
def test_types_come_from_the_content(data: bytes, name: str, expected: str) -> None:
    assert sniff.sniff(data[:65536], name, data) == expected


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, b"\x7fELF\x02\x01", plain_zip(), b"\x00\x01\x02binary"],
)
def test_other_content_is_415(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType):
        sniff.sniff(data[:65536], "harmless.txt", data)


def test_pdf_pages_are_kept() -> None:
    extracted = extract(pdf(["first page words", "second page words"]), sniff.PDF)
    assert extracted.pages == 2
    assert [(b.page, b.text) for b in extracted.blocks] == [
        (1, "first page words"),
        (2, "second page words"),
    ]


def test_docx_headings_become_paths() -> None:
    data = docx_file({"Setup": ["install it"], "Usage": ["run it", "stop it"]})
    blocks = extract(data, sniff.DOCX).blocks
    assert [(b.headings, b.text) for b in blocks] == [
        (("Setup",), "install it"),
        (("Usage",), "run it"),
        (("Usage",), "stop it"),
    ]


def test_a_hostile_heading_level_does_not_grow_the_path() -> None:
    blocks = extract(deep_docx(30), sniff.DOCX).blocks
    # Word's levels end at 9: "Heading 130" is a level-9 heading.
    assert max(len(b.headings) for b in blocks) == 9
    # Digits int() refuses, and level 0, are a level-1 heading.
    names = ("Heading \u00b2", "Heading " + "9" * 5000, "Heading 0")
    blocks = extract(deep_docx(3, names), sniff.DOCX).blocks
    assert [b.headings for b in blocks] == [("H1",), ("H2",), ("H3",)]


def test_html_drops_scripts_and_styles() -> None:
    page = (
        "<html><head><title>t</title><style>p{}</style></head><body><h1>Guide</h1>"
        "<p>Visible &amp; kept.</p><script>alert('x')</script><p>Second.</p></body></html>"
    )
    blocks = extract(page.encode(), sniff.HTML).blocks
    assert [(b.headings, b.text) for b in blocks] == [
        (("Guide",), "Visible & kept."),
        (("Guide",), "Second."),
    ]


def test_a_hash_line_in_a_code_fence_is_code_not_a_heading() -> None:
    md = b"# Setup\n\n```sh\n# remove the build\nrm -rf build\n```\n\nafter the fence\n"
    blocks = extract(md, sniff.MARKDOWN).blocks
    assert [(b.text, b.headings) for b in blocks] == [
        ("# remove the build\nrm -rf build", ("Setup",)),
        ("after the fence", ("Setup",)),
    ]


def test_setext_headings_and_tables_keep_their_structure() -> None:
    md = (
        b"Guide\n=====\n\nintro with **bold** and `code`\n\n"
        b"Options\n-------\n\n| flag | meaning |\n|---|---|\n| -x | extra |\n\n"
        b"    indented code\n\n### Deep\n\n- one\n- two\n"
    )
    blocks = extract(md, sniff.MARKDOWN).blocks
    assert [(b.text, b.headings) for b in blocks] == [
        ("intro with bold and code", ("Guide",)),
        ("flag | meaning", ("Guide", "Options")),
        ("-x | extra", ("Guide", "Options")),
        ("indented code", ("Guide", "Options")),
        ("one", ("Guide", "Options", "Deep")),
        ("two", ("Guide", "Options", "Deep")),
    ]


def test_markdown_csv_json_and_text() -> None:
    md = extract(b"# A\n\npara one\n\n## B\n\npara two", sniff.MARKDOWN).blocks
    assert [(b.headings, b.text) for b in md] == [(("A",), "para one"), (("A", "B"), "para two")]
    rows = extract(b"name,role\nann,admin\nbob,user\n", sniff.CSV).blocks
    assert [b.text for b in rows] == ["name: ann; role: admin", "name: bob; role: user"]
    data = extract(json.dumps({"a": {"b": "deep"}, "c": [1]}).encode(), sniff.JSON).blocks
    assert [b.text for b in data] == ["a.b: deep", "c.0: 1"]
    text = extract("first\n\nsecond caf\u00e9".encode("cp1252"), sniff.TEXT).blocks
    assert [b.text for b in text] == ["first", "second caf\u00e9"]


@pytest.mark.parametrize(
    ("data", "media", "message"),
    [
        (pdf(["secret"], password="pw"), sniff.PDF, "encrypted"),
        (b"%PDF-1.4\n garbage without structure", sniff.PDF, "cannot be read"),
        (zip_bomb_docx(), sniff.DOCX, "zip bomb"),
        (b"PK\x03\x04broken", sniff.DOCX, "cannot be read"),
        (b"[" * 10_000 + b"]" * 10_000, sniff.JSON, "cannot be read"),
        (json.dumps({"a": None}).encode(), sniff.JSON, ""),
    ],
)
def test_hostile_or_broken_files_fail_clearly(data: bytes, media: str, message: str) -> None:
    if not message:
        assert extract(data, media).blocks == []
        return
    with pytest.raises(ExtractionError, match=message):
        extract(data, media)


def test_deep_json_is_refused() -> None:
    deep: object = "x"
    for _ in range(100):
        deep = {"k": deep}
    with pytest.raises(ExtractionError, match="nested too deeply"):
        extract(json.dumps(deep).encode(), sniff.JSON)


@pytest.mark.anyio
async def test_the_worker_process_turns_a_bomb_into_an_error_and_survives() -> None:
    with pytest.raises(ExtractionError, match="zip bomb"):
        await anyio.to_process.run_sync(extract_in_worker, zip_bomb_docx(), sniff.DOCX)
    good = await anyio.to_process.run_sync(extract_in_worker, b"still here", sniff.TEXT)
    assert [b.text for b in good.blocks] == ["still here"]
