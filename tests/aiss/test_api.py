from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors import MailboxFull
from aiss.api import (
    BEARER,
    MAX_JSON_BODY,
    OBJECT_ID,
    Credential,
    ErrorBody,
    EventStream,
    endpoint,
    openapi_document,
)
from aiss.app import _on_error
from aiss.errors import AissError, error_codes
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


class Attachment(BaseModel):
    file: bytes
    caption: str = Field(default="", max_length=50)


class Word(BaseModel):
    text: str


WORDS = EventStream(events={"word": (Word, "the next word")}, description="Words as they come.")
KEY = Credential("key", {"type": "apiKey", "in": "header", "name": "X-Key"})


@endpoint(form=Attachment, responses={201: NoteOut}, tags=["notes"])
async def attach(request: Request) -> Response:
    """Attach a file to a note."""
    async with request.form() as form:
        return JSONResponse({"fields": sorted(form)}, status_code=201)


@endpoint(responses={200: (NoteOut, WORDS)}, errors=[404], credentials=[KEY], tags=["notes"])
async def read_note(request: Request) -> NoteOut:
    return NoteOut(id="n", title="t", tags=[])


def make_app() -> Starlette:
    from aiss.metrics import Metrics

    routes = [
        Route("/books/{book}/notes", create_note, methods=["POST"]),
        Route("/busy", busy, methods=["GET"]),
        Route("/books/{book}/attachments", attach, methods=["POST"]),
        Route("/books/{book}/notes/{note_id}", read_note, methods=["GET"]),
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
    assert set(operation["responses"]) == {"201", "413", "415", "422", "default"}
    schemas = document["components"]["schemas"]
    assert schemas["NoteIn"]["properties"]["title"]["maxLength"] == 100
    limit = document["paths"]["/busy"]["get"]["parameters"][0]
    assert limit["name"] == "limit"
    assert limit["schema"]["maximum"] == 100


async def test_a_form_is_documented_but_left_to_the_handler() -> None:
    async with serving(make_app()) as client:
        # Nothing the documented model asks for: the handler still reads the body itself.
        response = await client.post("/books/b1/attachments", data={"other": "x"})
    assert response.status_code == 201
    assert response.json() == {"fields": ["other"]}


def test_multipart_bodies_are_documented_with_their_files() -> None:
    document = openapi_document(make_app().routes, title="t", version="1")
    validate(document)
    operation = document["paths"]["/books/{book}/attachments"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    assert body["content"]["multipart/form-data"]["schema"] == {
        "$ref": "#/components/schemas/Attachment"
    }
    schema = document["components"]["schemas"]["Attachment"]
    assert schema["properties"]["file"]["format"] == "binary"
    assert schema["properties"]["caption"]["maxLength"] == 50
    assert schema["required"] == ["file"]
    assert "422" in operation["responses"]  # the form is input


def test_event_streams_alternative_answers_and_own_credentials_are_documented() -> None:
    document = openapi_document(
        make_app().routes,
        title="t",
        version="1",
        parameters={"note_id": ("The note's id.", OBJECT_ID)},
    )
    validate(document)
    operation = document["paths"]["/books/{book}/notes/{note_id}"]["get"]
    ok = operation["responses"]["200"]
    assert set(ok["content"]) == {"application/json", "text/event-stream"}
    stream = ok["content"]["text/event-stream"]
    assert stream["x-events"]["word"]["schema"] == {"$ref": "#/components/schemas/Word"}
    assert "Words as they come." in ok["description"] and "`word`" in ok["description"]
    assert "Word" in document["components"]["schemas"]
    book, note = operation["parameters"]
    assert book == {"name": "book", "in": "path", "required": True, "schema": {"type": "string"}}
    assert note["description"] == "The note's id." and note["schema"] == dict(OBJECT_ID)
    assert operation["security"] == [{"key": []}]
    # Only the schemes some operation uses: no bearer here.
    assert document["components"]["securitySchemes"] == {"key": dict(KEY.scheme)}
    assert BEARER.name not in document["components"]["securitySchemes"]
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for status in ("404", "default"):
        assert operation["responses"][status]["content"]["application/json"]["schema"] == error
    assert "`not_found`" in operation["responses"]["404"]["description"]


def test_error_bodies_list_every_code_of_the_error_tree() -> None:
    schema = ErrorBody.model_json_schema()["properties"]["error"]
    codes = {c.code for c in error_codes()}
    assert set(schema["enum"]) == codes
    assert {"not_found", "validation_failed", "host_key_unknown", "internal"} <= codes
    for code in codes:
        assert f"`{code}`" in schema["description"]


def test_an_endpoint_reads_a_json_body_or_a_form_not_both() -> None:
    with pytest.raises(TypeError):
        endpoint(responses={200: None}, body=NoteIn, form=Attachment)
    with pytest.raises(TypeError):
        endpoint(responses={200: None}, auth="user", credentials=[KEY])
