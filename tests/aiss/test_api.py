from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.routing import Route

from actors import MailboxFull
from aiss.api import MAX_JSON_BODY, endpoint, openapi_document
from aiss.app import _on_error
from aiss.errors import AissError
from aiss.middleware import RequestContext

from ..servers import serving

if TYPE_CHECKING:
    from starlette.requests import Request

pytestmark = pytest.mark.anyio


class NoteIn(BaseModel):
    title: str = Field(min_length=1, max_length=100)
    tags: list[str] = []


class NoteOut(BaseModel):
    id: str
    title: str
    tags: list[str]


class Page(BaseModel):
    limit: int = Field(default=10, ge=1, le=100)


@endpoint(body=NoteIn, responses={201: NoteOut}, errors=[413, 415], tags=["notes"])
async def create_note(request: Request, body: NoteIn) -> NoteOut:
    """Create a note.

    Notes are short.
    """
    return NoteOut(id=request.path_params["book"], title=body.title, tags=body.tags)


@endpoint(query=Page, responses={200: NoteOut}, tags=["notes"])
async def busy(request: Request, query: Page) -> NoteOut:
    raise MailboxFull("notes", 8)


def make_app() -> Starlette:
    from aiss.metrics import Metrics

    routes = [
        Route("/books/{book}/notes", create_note, methods=["POST"]),
        Route("/busy", busy, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={AissError: _on_error, MailboxFull: _on_error, Exception: _on_error},
    )
    app.add_middleware(RequestContext, metrics=Metrics(lambda: []))
    return app


async def test_valid_body_is_parsed_and_the_model_returned_with_its_status() -> None:
    async with serving(make_app()) as client:
        response = await client.post("/books/b1/notes", json={"title": "hi", "tags": ["x"]})
    assert response.status_code == 201
    assert response.json() == {"id": "b1", "title": "hi", "tags": ["x"]}


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b'{"title": "hi"', {"content-type": "application/json"}, 400, "bad_request"),
        (b"\xff\xfe", {"content-type": "application/json"}, 400, "bad_request"),
        (b'{"title": "hi"}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (b'{"title": ""}', {"content-type": "application/json"}, 422, "validation_failed"),
        (b"", {}, 422, "validation_failed"),  # no body: the title it needs is missing
        (b"", {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (b"[]", {"content-type": "application/json"}, 422, "validation_failed"),
        (
            b'{"title": "' + b"a" * MAX_JSON_BODY + b'"}',
            {"content-type": "application/json"},
            413,
            "payload_too_large",
        ),
    ],
)
async def test_bad_bodies_get_clear_4xx_errors(
    content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    async with serving(make_app()) as client:
        response = await client.post("/books/b1/notes", content=content, headers=headers)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == code
    assert body["message"]


async def test_validation_errors_say_which_field_is_wrong() -> None:
    async with serving(make_app()) as client:
        response = await client.post("/books/b1/notes", json={"tags": [1]})
        query = await client.get("/busy", params={"limit": "1000"})
    details = response.json()["details"]
    assert {tuple(d["loc"]) for d in details} == {("title",), ("tags", 0)}
    assert query.status_code == 422
    assert query.json()["details"][0]["loc"] == ["limit"]


async def test_a_full_mailbox_is_429_with_retry_after() -> None:
    async with serving(make_app()) as client:
        response = await client.get("/busy")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"] == "too_many_requests"


def test_openapi_document_is_valid_and_generated_from_the_models() -> None:
    document = openapi_document(make_app().routes, title="t", version="1")
    validate(document)
    operation = document["paths"]["/books/{book}/notes"]["post"]
    assert operation["summary"] == "Create a note."
    assert operation["description"] == "Notes are short."
    assert operation["parameters"][0]["name"] == "book"
    assert set(operation["responses"]) == {"201", "413", "415", "422"}
    schemas = document["components"]["schemas"]
    assert schemas["NoteIn"]["properties"]["title"]["maxLength"] == 100
    limit = document["paths"]["/busy"]["get"]["parameters"][0]
    assert limit["name"] == "limit"
    assert limit["schema"]["maximum"] == 100
