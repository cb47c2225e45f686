"""One error tree for the whole server, mapped to HTTP and WebSocket codes here only.

```
AissError                       500  internal
├── BadRequest                  400  bad_request
│   └── ValidationFailed        422  validation_failed   (details: the field errors)
├── Unauthorized                401  unauthorized
├── Forbidden                   403  forbidden
├── NotFound                    404  not_found
├── MethodNotAllowed            405  method_not_allowed
├── Conflict                    409  conflict
├── HostKeyUnknown              409  host_key_unknown    (+ host, port, key_type, fingerprint)
│   └── HostKeyChanged          409  host_key_changed
├── PayloadTooLarge             413  payload_too_large
├── UnsupportedMediaType        415  unsupported_media_type
├── TooManyRequests             429  too_many_requests   (Retry-After)
├── UpstreamFailed              502  upstream_failed     (an LLM provider failed)
├── ServiceUnavailable          503  unavailable
│   └── StoreUnavailable        503  unavailable         (Retry-After)
└── Timeout                     504  timeout
```
Errors of the actor runtime map onto it: a full mailbox is 429, a dead actor
503, an ask past its deadline 504. Anything else is a 500 whose message says
nothing about the server's insides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from actors import ActorDead, AskTimeout, MailboxFull, TooManyChildren


class AissError(Exception):
    """A failure inside the server; its message tells the client nothing more."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    ws_close: ClassVar[int] = 1011

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(AissError):
    """The request cannot be read: a body that is not JSON, a multipart that cannot be parsed."""

    status, code, ws_close = 400, "bad_request", 1007


class ValidationFailed(BadRequest):
    """The input does not match its schema; `details` lists the fields that are wrong."""

    status, code = 422, "validation_failed"


class Unauthorized(AissError):
    """No credential, or one that is wrong, expired or revoked."""

    status, code, ws_close = 401, "unauthorized", 4401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="aiss"'}


class Forbidden(AissError):
    """The caller is known but may not do this."""

    status, code, ws_close = 403, "forbidden", 4403


class NotFound(AissError):
    """No such thing, or one the caller may not see."""

    status, code, ws_close = 404, "not_found", 4404


class MethodNotAllowed(AissError):
    """The path exists but does not take this method."""

    status, code = 405, "method_not_allowed"


class HostKeyUnknown(AissError):
    """An SSH host key the user has not confirmed: the client shows it and may store it."""

    status, code, ws_close = 409, "host_key_unknown", 1008

    def __init__(self, message: str, key: dict[str, Any]) -> None:
        super().__init__(message)
        self.key = key


class HostKeyChanged(HostKeyUnknown):
    """The host offers another key than the one the user confirmed."""

    code = "host_key_changed"


class Conflict(AissError):
    """The change clashes with what exists: a name taken, something still in use."""

    status, code, ws_close = 409, "conflict", 4409


class PayloadTooLarge(AissError):
    """The body is larger than the endpoint takes."""

    status, code, ws_close = 413, "payload_too_large", 1009


class UnsupportedMediaType(AissError):
    """The body is not of the media type the endpoint reads."""

    status, code, ws_close = 415, "unsupported_media_type", 1003


class TooManyRequests(AissError):
    """Too many requests, or a part of the server is busy: retry after `Retry-After` seconds."""

    status, code, ws_close = 429, "too_many_requests", 1013

    def __init__(self, message: str, retry_after: int = 1, details: Any = None) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UpstreamFailed(AissError):
    """A service AISS calls on the caller's behalf (an LLM provider) failed."""

    status, code, ws_close = 502, "upstream_failed", 1014


class ServiceUnavailable(AissError):
    """A part of the server is down, or not served by this process; retry later."""

    status, code, ws_close = 503, "unavailable", 1013

    def __init__(self, message: str, retry_after: int | None = None, details: Any = None) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class StoreUnavailable(ServiceUnavailable):
    """A store (database, object store, vector store) does not answer; retry later."""

    def __init__(self, store: str, retry_after: int = 5) -> None:
        super().__init__(f"the {store} is unreachable; try again shortly", retry_after)
        self.store = store


class Timeout(AissError):
    """A part of the server did not answer in time."""

    status, code, ws_close = 504, "timeout", 1011


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    ws_close: int


_HTTP_CODES: dict[int, type[AissError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
    429: TooManyRequests,
    502: UpstreamFailed,
    503: ServiceUnavailable,
    504: Timeout,
}


def as_aiss_error(exc: BaseException) -> AissError:
    """The one place that decides what a failure means to a client."""
    match exc:
        case AissError():
            return exc
        case MailboxFull():
            return TooManyRequests(f"{exc.actor} is busy; try again shortly")
        case TooManyChildren():
            return TooManyRequests(f"{exc.supervisor} is at its limit of {exc.limit}")
        case ActorDead():
            return ServiceUnavailable(f"{exc.actor} is not running")
        case AskTimeout():
            return Timeout(f"{exc.actor} did not answer in time")
        case BaseExceptionGroup():
            # Parallel work (a task group) failing for known reasons fails for the first.
            known = [as_aiss_error(e) for e in exc.exceptions]
            if known and all(type(e) is not AissError for e in known):
                return known[0]
    return AissError("internal error")


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    status: int
    meaning: str


def error_codes() -> list[ErrorCode]:
    """Every `error` a client may read, from the tree itself so that none goes undocumented.

    Where a subclass keeps its parent's code (StoreUnavailable), the parent says what it means.
    """
    found: dict[str, ErrorCode] = {}
    pending: list[type[AissError]] = [AissError]
    while pending:
        kind = pending.pop(0)
        pending.extend(kind.__subclasses__())
        if kind.code not in found:
            meaning = " ".join((kind.__doc__ or "").split())
            found[kind.code] = ErrorCode(kind.code, kind.status, meaning)
    return sorted(found.values(), key=lambda e: (e.status, e.code))


def from_http_status(status: int, message: str) -> AissError:
    """For errors Starlette raises itself (unknown route, wrong method)."""
    return _HTTP_CODES.get(status, AissError)(message)


def error_response(exc: BaseException) -> ErrorResponse:
    error = as_aiss_error(exc)
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if isinstance(error, HostKeyUnknown):
        body.update(error.key)
    if error.details is not None:
        body["details"] = error.details
    return ErrorResponse(error.status, body, error.headers(), error.ws_close)
