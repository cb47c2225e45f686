"""Typed endpoints: pydantic models in, pydantic models out, described for OpenAPI.

`endpoint` wraps a handler so that its JSON body and query string arrive
validated, its result is serialised, and the description it carries is what
`openapi_document` turns into the OpenAPI document. Nothing is registered
globally: the document is built from the routes of the app being served.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import BadRequest, Forbidden, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
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


class Paging(BaseModel):
    """The query of every paged listing."""

    offset: int = Field(default=0, ge=0, le=1_000_000_000)  # the stores take 8-byte ints
    limit: int = Field(default=50, ge=1, le=500)


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: str
    message: str
    details: Any = None


@dataclass(frozen=True)
class EndpointInfo:
    summary: str
    description: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: Mapping[int, type[BaseModel] | str | None]
    errors: tuple[int, ...]
    auth: Auth
    success: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "success", min(s for s in self.responses if s < 400))


def endpoint(
    *,
    responses: Mapping[int, type[BaseModel] | str | None],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    errors: Iterable[int] = (),
    tags: Iterable[str] = (),
    auth: Auth = "none",
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Describe and validate a handler `async def f(request, [body=], [query=], [principal=])`.

    `responses` maps each success status to the model returned, to a media
    type for handlers that build their own `Response`, or to None for no
    content. `errors` lists the error statuses worth documenting; 422 is added
    when there is input, 401 (and 403 for admin) when `auth` asks for a user.
    """

    def wrap(func: Handler) -> Callable[[Request], Awaitable[Response]]:
        doc = (func.__doc__ or "").strip()
        summary, _, description = doc.partition("\n")
        documented = set(errors) | ({422} if body or query else set())
        if auth != "none":
            documented |= {401, 403} if auth == "admin" else {401}
        info = EndpointInfo(
            summary=summary or func.__name__.replace("_", " "),
            description=description.strip(),
            tags=tuple(tags),
            body=body,
            query=query,
            responses=dict(responses),
            errors=tuple(sorted(documented)),
            auth=auth,
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


def openapi_document(routes: Iterable[Any], *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every described endpoint among `routes`."""
    operations: list[tuple[str, str, EndpointInfo]] = []
    for route in routes:
        info = getattr(getattr(route, "endpoint", None), _ATTR, None)
        if isinstance(route, Route) and isinstance(info, EndpointInfo):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                operations.append((route.path, method.lower(), info))

    models: dict[type[BaseModel], None] = {ErrorBody: None}
    for _, _, info in operations:
        for model in (info.body, info.query, *info.responses.values()):
            if isinstance(model, type):
                models[model] = None
    keyed: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, mode) for model in models for mode in ("validation", "serialization")
    ]
    refs, schemas = models_json_schema(keyed, ref_template="#/components/schemas/{model}")

    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(refs[(model, mode)])

    paths: dict[str, dict[str, Any]] = {}
    for path, method, info in operations:
        plain = _PARAM.sub(r"\1", path).strip("/").replace("/", "_").replace(".", "_")
        operation: dict[str, Any] = {
            "summary": info.summary,
            "operationId": f"{method}_{plain or 'root'}",
            "tags": list(info.tags),
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(path)
            ],
            "responses": {},
        }
        if info.description:
            operation["description"] = info.description
        if info.query is not None:
            query = info.query.model_json_schema(ref_template="#/components/schemas/{model}")
            required = set(query.get("required", ()))
            for name, schema in query.get("properties", {}).items():
                operation["parameters"].append(
                    {"name": name, "in": "query", "required": name in required, "schema": schema}
                )
        if info.body is not None:
            operation["requestBody"] = {
                # A body whose fields all have defaults may be left out.
                "required": any(f.is_required() for f in info.body.model_fields.values()),
                "content": {"application/json": {"schema": ref(info.body, "validation")}},
            }
        if info.auth != "none":
            operation["security"] = [{"bearer": []}]
        for status, model in info.responses.items():
            response: dict[str, Any] = {"description": "success" if status < 400 else "error"}
            if isinstance(model, str):
                response["content"] = {model: {}}
            elif model is not None:
                schema = ref(model, "serialization")
                response["content"] = {"application/json": {"schema": schema}}
            operation["responses"][str(status)] = response
        for status in info.errors:
            operation["responses"][str(status)] = {
                "description": "error",
                "content": {"application/json": {"schema": ref(ErrorBody, "serialization")}},
            }
        paths.setdefault(_PARAM.sub(r"{\1}", path), {})[method] = operation

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an access token from /api/v1/auth/login, or an API key",
                }
            },
        },
    }
