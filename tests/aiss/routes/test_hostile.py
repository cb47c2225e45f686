"""Hostile input over HTTP: each gets a clear 4xx (or a failed document with its
reason), nothing is stored half-way, and the server stays up.

Frame fuzzing and oversized frames on the terminal WebSocket are in
test_terminal.py; hostile files at the extraction level in
documents/test_extract.py.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import TYPE_CHECKING, Any

import pytest

from ..documents.files import docx_file, pdf_of, zip_bomb_docx
from .test_documents import ready, upload

if TYPE_CHECKING:
    from .conftest import Api

pytestmark = pytest.mark.anyio


async def documents(api: Api, token: str) -> set[str]:
    """The ids of the caller's documents."""
    listed = await api.call("GET", "/documents?limit=100", token)
    items: list[dict[str, Any]] = listed.json()["items"]
    return {item["id"] for item in items}


async def still_up(api: Api) -> None:
    assert (await api.http.get("/health")).status_code == 200


def recursive_pdf() -> bytes:
    """A page tree whose only kid is the tree itself, and a stream of 10^9 declared bytes."""
    return pdf_of(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R] /Count 1000000000 >>",
            b"<< /Length 1000000000 /Filter /FlateDecode >>\nstream\nx\nendstream",
        ]
    )


async def test_a_docx_bomb_is_refused_before_anything_is_stored(api: Api) -> None:
    token = await api.token()
    before = await documents(api, token)
    response = await upload(api, token, zip_bomb_docx(), "bomb.docx")
    assert response.status_code == 415, response.text
    assert "zip bomb" in response.json()["message"]
    # A zip whose members are many and tiny, but claim to be huge, is the same.
    claims = io.BytesIO()
    with zipfile.ZipFile(claims, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w/>" + b" " * 50_000_000)
    response = await upload(api, token, claims.getvalue(), "spaces.docx")
    assert response.status_code == 415
    assert await documents(api, token) == before
    await still_up(api)


async def test_a_recursive_pdf_fails_with_its_reason_and_leaves_no_chunks(api: Api) -> None:
    token = await api.token()
    response = await upload(api, token, recursive_pdf(), "loop.pdf")
    assert response.status_code == 202, response.text
    doc = await ready(api, token, response.json()["id"])
    assert doc["status"] == "failed" and doc["error"], doc
    assert doc["chunk_count"] == 0
    chunks = await api.call("GET", f"/documents/{doc['id']}/chunks", token)
    assert chunks.json()["total"] == 0
    # The workers are still there for the next document.
    good = await upload(api, token, docx_file({"Fine": ["a normal page"]}), "fine.docx")
    assert (await ready(api, token, good.json()["id"]))["status"] == "ready"
    await still_up(api)


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd",
        "..\\..\\windows\\system32\\config",
        'evil"\r\nX-Injected: 1\r\n.txt',
        "\x00\x1b[31mred\x1b[0m.txt",
        "a" * 5000 + ".txt",
        "名前 ünïcode.md",
    ],
)
async def test_hostile_filenames_are_stored_safely(api: Api, name: str) -> None:
    token = await api.token()
    marker = uuid.uuid4().hex
    before = await documents(api, token)
    response = await upload(api, token, f"content {marker}".encode(), name)
    if response.status_code != 202:  # refused as a whole (the multipart parser's limits)
        assert 400 <= response.status_code < 500 and response.json()["message"]
        assert await documents(api, token) == before
        return
    doc = (await api.call("GET", f"/documents/{response.json()['id']}", token)).json()
    stored = doc["filename"]
    assert "/" not in stored and "\\" not in stored and ".." not in stored.strip(".")
    assert not any(ord(c) < 32 for c in stored) and '"' not in stored and len(stored) <= 200
    content = await api.call("GET", f"/documents/{doc['id']}/content", token)
    assert content.status_code == 200 and marker.encode() in content.content
    assert "x-injected" not in content.headers
    disposition = content.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/search", b'{"query": "\xff\xfe invalid utf-8"}', 400),
        ("/search", b'{"query": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400),
        ("/search", b'{"query": "' + b"q" * 3000 + b'"}', 422),
        ("/search", b'{"query": "ok", "limit": 1e308}', 422),
        ("/search", b'{"query": "ok", "area_ids": ["a"' + b',"a"' * 200 + b"]}", 422),
        ("/search", b"not json at all", 400),
        ("/rag/query", b'{"question": "' + b"q" * 5000 + b'"}', 422),
        ("/areas", b'{"name": "' + b"n" * 10_000 + b'"}', 422),
        ("/users/me/api-keys", b'{"name": "\\u0000\\u001b", "expires_in_days": -1}', 422),
        ("/search", b'{"query": "x", "pad": "' + b"p" * 2_000_000 + b'"}', 413),
    ],
)
async def test_malformed_and_overlong_bodies_get_clear_errors(
    api: Api, path: str, body: bytes, status: int
) -> None:
    token = await api.token()
    response = await api.http.post(
        f"/api/v1{path}",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == status, response.text
    assert response.json()["error"] and response.json()["message"]
    await still_up(api)


async def test_invalid_utf8_is_refused_or_read_as_latin1_never_an_error(api: Api) -> None:
    token = await api.token()
    before = await documents(api, token)
    binary = await upload(api, token, b"\xff\xfe\x00\x01\x80\x81" * 200, "notes.txt")
    assert binary.status_code == 415 and "binary" in binary.json()["message"]
    assert await documents(api, token) == before
    # Form fields that are not UTF-8 are read as Latin-1 (Starlette's form parser).
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n'.encode()
        + b"caf\xe9"
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n'.encode()
        + f"latin one\r\n--{boundary}--\r\n".encode()
    )
    response = await api.http.post(
        "/api/v1/documents",
        content=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": f"Bearer {token}",
        },
    )
    assert response.status_code == 202, response.text
    doc = (await api.call("GET", f"/documents/{response.json()['id']}", token)).json()
    assert doc["title"] == "caf\u00e9"


async def test_header_injection_and_odd_request_ids_are_not_echoed(api: Api) -> None:
    response = await api.http.get("/health", headers={"X-Request-ID": "abc\tdef<script>"})
    echoed = response.headers["x-request-id"]
    assert echoed != "abc\tdef<script>" and echoed.isalnum()
