"""The OpenAPI document of the whole API: complete where a client needs it to be.

Built from the routes themselves, with no server: what each operation takes
and answers is checked here, and that answers keep to it is the fuzz test's
(tests/aiss/test_openapi_fuzz.py) and the route tests' (the events they read).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from aiss.api import PATH_PARAMETERS, openapi_document
from aiss.app import api_routes
from aiss.errors import error_codes

ERROR = {"$ref": "#/components/schemas/ErrorBody"}
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    built = openapi_document(api_routes(), title="AISS", version="1")
    validate(built)
    return built


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_path_parameter_is_typed_and_described(document: dict[str, Any]) -> None:
    seen = set()
    for path, method, operation in operations(document):
        named = re.findall(r"{(\w+)}", path)
        params = [p for p in operation["parameters"] if p["in"] == "path"]
        assert [p["name"] for p in params] == named, (method, path)
        for param in params:
            assert param["name"] in PATH_PARAMETERS, f"{method} {path}: {param['name']}"
            assert param["description"], (method, path)
            assert param["schema"]["pattern"] == "^[0-9a-f]{24}$", (method, path)
            seen.add(param["name"])
    # The table describes what the routes use, no more.
    assert seen == set(PATH_PARAMETERS)


def test_every_error_answer_is_an_error_body(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if status == "default" or int(status) >= 400:
                if (path, status) == ("/ready", "503"):
                    continue  # not ready is a report, the same as ready's
                schema = response["content"]["application/json"]["schema"]
                assert schema == ERROR, (method, path, status)
                assert response["description"], (method, path, status)
        assert "default" in operation["responses"], (method, path)
    codes = {c.code for c in error_codes()}
    error = document["components"]["schemas"]["ErrorBody"]["properties"]["error"]
    assert set(error["enum"]) == codes
    assert all(f"`{code}`" in error["description"] for code in codes)
    not_found = document["paths"]["/api/v1/documents/{document_id}"]["get"]["responses"]["404"]
    assert not_found["description"] == "Not Found (`error`: `not_found`)"


def test_the_upload_is_a_multipart_body_with_a_file_and_typed_fields(
    document: dict[str, Any],
) -> None:
    body = document["paths"]["/api/v1/documents"]["post"]["requestBody"]
    assert body["required"] is True
    assert list(body["content"]) == ["multipart/form-data"]
    ref = body["content"]["multipart/form-data"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rpartition("/")[2]]
    fields = schema["properties"]
    assert set(fields) == {"file", "title", "description", "tags", "scope", "area_id"}
    assert fields["file"]["type"] == "string" and fields["file"]["format"] == "binary"
    assert fields["file"]["contentMediaType"] == "application/octet-stream"
    assert fields["scope"]["enum"] == ["personal", "shared"]
    assert fields["title"]["maxLength"] == 200
    assert schema["required"] == ["file"]


@pytest.mark.parametrize(
    ("path", "method", "media", "events"),
    [
        ("/api/v1/events", "get", {"text/event-stream"}, {"document"}),
        (
            "/api/v1/rag/query",
            "post",
            {"application/json", "text/event-stream"},
            {"sources", "token", "done", "error"},
        ),
        (
            "/api/v1/conversations/{conversation_id}/messages",
            "post",
            {"application/json", "text/event-stream"},
            {"sources", "token", "done", "error"},
        ),
    ],
)
def test_server_sent_events_are_described(
    document: dict[str, Any], path: str, method: str, media: set[str], events: set[str]
) -> None:
    ok = document["paths"][path][method]["responses"]["200"]
    assert set(ok["content"]) == media
    stream = ok["content"]["text/event-stream"]
    assert set(stream["x-events"]) == events
    schemas = document["components"]["schemas"]
    for name, event in stream["x-events"].items():
        assert event["description"] and f"`{name}`" in ok["description"]
        assert event["schema"]["$ref"].rpartition("/")[2] in schemas
    assert stream["example"].startswith("event: ")


def test_security_schemes_name_every_credential_the_server_takes(
    document: dict[str, Any],
) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and "API key" in schemes["bearer"]["description"]
    assert (schemes["browserRefresh"]["in"], schemes["browserRefresh"]["name"]) == (
        "cookie",
        "aiss_refresh",
    )
    assert (schemes["csrfHeader"]["in"], schemes["csrfHeader"]["name"]) == (
        "header",
        "X-CSRF-Token",
    )
    paths = document["paths"]
    assert paths["/api/v1/users/me"]["get"]["security"] == [{"bearer": []}]
    assert paths["/api/v1/auth/browser/refresh"]["post"]["security"] == [
        {"browserRefresh": [], "csrfCookie": [], "csrfHeader": []}
    ]
    assert paths["/internal/v1/embed"]["post"]["security"] == [{"serviceToken": []}]
    assert "security" not in paths["/api/v1/auth/login"]["post"]
    used = {
        name for *_, op in operations(document) for req in op.get("security", []) for name in req
    }
    assert used == set(schemes)
