"""Typed endpoints: pydantic models in, pydantic models out, described for OpenAPI.

`endpoint` wraps a handler so that its JSON body and query string arrive
validated, its result is serialised, and the description it carries is what
`openapi_document` turns into the OpenAPI document. Nothing is registered
globally: the document is built from the routes of the app being served.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import (
    BadRequest,
    ErrorCode,
    Forbidden,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    error_codes,
)
from .state import app_state

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping

    from pydantic.json_schema import JsonSchemaMode
    from starlette.requests import Request

    Handler = Callable[..., Awaitable[BaseModel | Response]]

Auth = Literal["none", "user", "admin"]
MAX_JSON_BODY: Final = 1024 * 1024
_ATTR: Final = "__aiss_endpoint__"
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_REF: Final = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Credential:
    """A security scheme of the document: one way a request says who sends it."""

    name: str
    scheme: Mapping[str, Any]


BEARER: Final = Credential(
    "bearer",
    {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token (from POST /api/v1/auth/login, or"
        " /api/v1/auth/browser/login) or an API key (`aiss_…`, from POST"
        " /api/v1/users/me/api-keys): `Authorization: Bearer <token>`.",
    },
)

# The stores' ids, as the API writes them (ObjectIds: 24 lowercase hexadecimal digits).
OBJECT_ID: Final[Mapping[str, Any]] = {"type": "string", "pattern": "^[0-9a-f]{24}$"}
# Every path parameter of the API, in one place; tests/aiss/test_openapi.py checks that
# each one the routes use is here.
PATH_PARAMETERS: Final[Mapping[str, tuple[str, Mapping[str, Any]]]] = {
    "area_id": ("The area's id.", OBJECT_ID),
    "conversation_id": ("The conversation's id.", OBJECT_ID),
    "document_id": ("The document's id.", OBJECT_ID),
    "key_id": (
        "The id of the key the path names: an API key, an SSH key or a known host.",
        OBJECT_ID,
    ),
    "provider_id": ("The LLM provider's id.", OBJECT_ID),
    "query_id": ("A question's id: the `query_id` of its answer.", OBJECT_ID),
    "session_id": ("The terminal session's id.", OBJECT_ID),
    "user_id": ("The user's id.", OBJECT_ID),
}


class Paging(BaseModel):
    """The query of every paged listing."""

    offset: int = Field(default=0, ge=0, le=1_000_000_000)  # the stores take 8-byte ints
    limit: int = Field(default=50, ge=1, le=500)


def _error_codes(schema: dict[str, Any]) -> None:
    # Filled in when the schema is generated: by then every module that adds an error is loaded.
    codes = error_codes()
    schema["enum"] = [c.code for c in codes]
    schema["description"] = "What went wrong, for programs:\n\n" + "\n".join(
        f"- `{c.code}` ({c.status}): {c.meaning}" for c in codes
    )


class ErrorBody(BaseModel):
    """Every error response has this shape.

    `host_key_unknown` and `host_key_changed` add the key offered: `host`, `port`,
    `key_type` and `fingerprint`.
    """

    error: str = Field(json_schema_extra=_error_codes)
    message: str = Field(description="What went wrong, for people.")
    details: Any = Field(
        default=None, description="More, where the code has it: the field errors of a 422."
    )


@dataclass(frozen=True)
class EventStream:
    """A text/event-stream answer: each event's name, the model of its JSON data, its meaning."""

    events: Mapping[str, tuple[type[BaseModel], str]]
    description: str
    example: str = ""


# What a success answers: a model (JSON), a media type the handler writes itself, server-sent
# events, or nothing; a tuple when the client's Accept header chooses among several.
Answer = type[BaseModel] | str | EventStream | None


@dataclass(frozen=True)
class EndpointInfo:
    summary: str
    description: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None
    form: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: Mapping[int, Answer | tuple[Answer, ...]]
    errors: tuple[int, ...]
    auth: Auth
    credentials: tuple[Credential, ...]
    success: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "success", min(s for s in self.responses if s < 400))


def endpoint(
    *,
    responses: Mapping[int, Answer | tuple[Answer, ...]],
    body: type[BaseModel] | None = None,
    form: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    errors: Iterable[int] = (),
    tags: Iterable[str] = (),
    auth: Auth = "none",
    credentials: Iterable[Credential] = (),
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Describe and validate a handler `async def f(request, [body=], [query=], [principal=])`.

    `responses` maps each success status to the model returned, to a media
    type for handlers that build their own `Response`, to an `EventStream`,
    to None for no content, or to a tuple of these when the Accept header
    picks one. `form` describes a multipart/form-data body that the handler
    reads itself (its files are `bytes` fields); it is documented, never
    parsed here. `errors` lists the error statuses worth documenting; 422 is
    added when there is input, 401 (and 403 for admin) when `auth` asks for a
    user. `credentials` names what a handler with `auth="none"` checks itself,
    all of them together.
    """
    if body is not None and form is not None:
        raise TypeError("an endpoint reads a JSON body or a form, not both")
    if auth != "none" and credentials:
        raise TypeError("`credentials` are for handlers that check their own")

    def wrap(func: Handler) -> Callable[[Request], Awaitable[Response]]:
        doc = inspect.cleandoc(func.__doc__ or "")
        summary, _, description = doc.partition("\n")
        documented = set(errors) | ({422} if body or form or query else set())
        if auth != "none":
            documented |= {401, 403} if auth == "admin" else {401}
        info = EndpointInfo(
            summary=summary or func.__name__.replace("_", " "),
            description=description.strip(),
            tags=tuple(tags),
            body=body,
            form=form,
            query=query,
            responses=dict(responses),
            errors=tuple(sorted(documented)),
            auth=auth,
            credentials=tuple(credentials),
        )

        @functools.wraps(func)
        async def handler(request: Request) -> Response:
            kwargs: dict[str, Any] = {}
            if auth != "none":
                principal = await app_state(request).authenticate(request)
                if auth == "admin" and not principal.is_admin:
                    raise Forbidden("this needs an administrator")
                kwargs["principal"] = principal
            if body is not None:
                kwargs["body"] = await _read_body(request, body)
            if query is not None:
                kwargs["query"] = _validate(query, dict(request.query_params))
            result = await func(request, **kwargs)
            if isinstance(result, Response):
                return result
            return JSONResponse(result.model_dump(mode="json"), status_code=info.success)

        setattr(handler, _ATTR, info)
        return handler

    return wrap


def _validate(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_context=False, include_input=False)
        raise ValidationFailed("the request does not match its schema", details) from None


async def _read_body(request: Request, model: type[BaseModel]) -> BaseModel:
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    headers = request.headers
    empty = headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers
    if not media and empty:
        return _validate(model, {})  # no body at all: the defaults, or 422 naming what is needed
    if media != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BODY:
            raise PayloadTooLarge(f"a JSON body holds at most {MAX_JSON_BODY} bytes")
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    return _validate(model, data)


def _alternatives(answer: Answer | tuple[Answer, ...]) -> tuple[Answer, ...]:
    return answer if isinstance(answer, tuple) else (answer,)


def _stream_text(stream: EventStream) -> str:
    lines = [
        f"- `{name}`, data `{model.__name__}`: {meaning}"
        for name, (model, meaning) in stream.events.items()
    ]
    return f"{stream.description}\n\n" + "\n".join(lines)


def _error_text(status: int, codes: Iterable[ErrorCode]) -> str:
    named = [f"`{c.code}`" for c in codes if c.status == status]
    phrase = HTTPStatus(status).phrase
    if not named:
        return phrase
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"
    return f"{phrase} (`error`: {listed})"


def openapi_document(
    routes: Iterable[Any],
    *,
    title: str,
    version: str,
    description: str = "",
    parameters: Mapping[str, tuple[str, Mapping[str, Any]]] = PATH_PARAMETERS,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every described endpoint among `routes`.

    `parameters` describes the path parameters by name; one it lacks is a plain string.
    """
    operations: list[tuple[str, str, EndpointInfo]] = []
    for route in routes:
        info = getattr(getattr(route, "endpoint", None), _ATTR, None)
        if isinstance(route, Route) and isinstance(info, EndpointInfo):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                operations.append((route.path, method.lower(), info))

    models: dict[type[BaseModel], None] = {ErrorBody: None}
    # The bearer first: what nearly every operation takes.
    credentials = {BEARER.name: BEARER} if any(i.auth != "none" for *_, i in operations) else {}
    for _, _, info in operations:
        answers = [a for answer in info.responses.values() for a in _alternatives(answer)]
        for answer in answers:
            if isinstance(answer, EventStream):
                models.update((model, None) for model, _ in answer.events.values())
        for model in (info.body, info.form, info.query, *answers):
            if isinstance(model, type):
                models[model] = None
        for credential in (BEARER,) if info.auth != "none" else info.credentials:
            credentials[credential.name] = credential
    keyed: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, mode) for model in models for mode in ("validation", "serialization")
    ]
    refs, schemas = models_json_schema(keyed, ref_template=_REF)
    codes = error_codes()

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(refs[(model, mode)])

    def content(answer: Answer) -> dict[str, Any]:
        if answer is None:
            return {}
        if isinstance(answer, str):
            return {answer: {}}
        if isinstance(answer, EventStream):
            stream: dict[str, Any] = {
                "schema": {"type": "string", "description": "server-sent events"},
                # OpenAPI 3.1 has no place for the events' schemas: this extension holds them.
                "x-events": {
                    name: {"description": meaning, "schema": ref(model, "serialization")}
                    for name, (model, meaning) in answer.events.items()
                },
            }
            if answer.example:
                stream["example"] = answer.example
            return {"text/event-stream": stream}
        return {"application/json": {"schema": ref(answer, "serialization")}}

    error = {"application/json": {"schema": ref(ErrorBody, "serialization")}}
    paths: dict[str, dict[str, Any]] = {}
    for path, method, info in operations:
        plain = _PARAM.sub(r"\1", path).strip("/").replace("/", "_").replace(".", "_")
        operation: dict[str, Any] = {
            "summary": info.summary,
            "operationId": f"{method}_{plain or 'root'}",
            "tags": list(info.tags),
            "parameters": [],
            "responses": {},
        }
        for name in _PARAM.findall(path):
            parameter: dict[str, Any] = {"name": name, "in": "path", "required": True}
            described = parameters.get(name)
            if described is None:
                parameter["schema"] = {"type": "string"}
            else:
                parameter["description"], parameter["schema"] = described[0], dict(described[1])
            operation["parameters"].append(parameter)
        if info.description:
            operation["description"] = info.description
        if info.query is not None:
            query = info.query.model_json_schema(ref_template=_REF)
            required = set(query.get("required", ()))
            for name, schema in query.get("properties", {}).items():
                operation["parameters"].append(
                    {"name": name, "in": "query", "required": name in required, "schema": schema}
                )
        for media, model in (("application/json", info.body), ("multipart/form-data", info.form)):
            if model is not None:
                operation["requestBody"] = {
                    # A body whose fields all have defaults may be left out.
                    "required": any(f.is_required() for f in model.model_fields.values()),
                    "content": {media: {"schema": ref(model, "validation")}},
                }
        if info.auth != "none":
            operation["security"] = [{BEARER.name: []}]
        elif info.credentials:
            operation["security"] = [{c.name: [] for c in info.credentials}]
        for status, answered in info.responses.items():
            alternatives = _alternatives(answered)
            texts = [HTTPStatus(status).phrase]
            texts += [_stream_text(a) for a in alternatives if isinstance(a, EventStream)]
            response: dict[str, Any] = {"description": "\n\n".join(texts)}
            media_types = {k: v for a in alternatives for k, v in content(a).items()}
            if media_types:
                response["content"] = media_types
            operation["responses"][str(status)] = response
        for status in info.errors:
            operation["responses"][str(status)] = {
                "description": _error_text(status, codes),
                "content": error,
            }
        # Any request may also meet a busy, a stopped or a failing part of the server.
        operation["responses"]["default"] = {
            "description": "Any other failure: 429 when the server is busy, 503 when a store"
            " is down, 504 when it answers too late, 500 when it fails.",
            "content": error,
        }
        paths.setdefault(_PARAM.sub(r"{\1}", path), {})[method] = operation

    info_: dict[str, str] = {"title": title, "version": version}
    if description:
        info_["description"] = description
    return {
        "openapi": "3.1.0",
        "info": info_,
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {c.name: dict(c.scheme) for c in credentials.values()},
        },
    }
