from __future__ import annotations

import pytest

from actors import ActorDead, AskTimeout, MailboxFull, TooManyChildren
from aiss.errors import (
    AissError,
    NotFound,
    TooManyRequests,
    ValidationFailed,
    error_response,
    from_http_status,
)


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (NotFound("no such document"), 404, "not_found"),
        (ValidationFailed("bad", [{"loc": ["x"]}]), 422, "validation_failed"),
        (MailboxFull("embedding", 10), 429, "too_many_requests"),
        (TooManyChildren("terminals", 3), 429, "too_many_requests"),
        (ActorDead("users"), 503, "unavailable"),
        (AskTimeout("rag", 1.5), 504, "timeout"),
        (KeyError("secret internals"), 500, "internal"),
    ],
)
def test_every_failure_maps_to_one_status_and_code(exc: Exception, status: int, code: str) -> None:
    response = error_response(exc)
    assert response.status == status
    assert response.body["error"] == code
    assert "secret internals" not in response.body["message"]


def test_details_and_headers_travel() -> None:
    response = error_response(TooManyRequests("slow down", retry_after=7, details={"n": 1}))
    assert response.headers == {"Retry-After": "7"}
    assert response.body == {
        "error": "too_many_requests",
        "message": "slow down",
        "details": {"n": 1},
    }
    assert response.ws_close == 1013


def test_starlette_statuses_become_tree_errors() -> None:
    assert isinstance(from_http_status(404, "x"), NotFound)
    assert type(from_http_status(418, "teapot")) is AissError


def test_a_task_group_failing_for_known_reasons_maps_to_the_first() -> None:
    """Two searches in parallel against a vector worker that died: a 503, not a 500."""
    from aiss.errors import ServiceUnavailable, as_aiss_error

    unavailable = ServiceUnavailable("the vectors.engine worker ended")
    group = BaseExceptionGroup("searches", [unavailable, ServiceUnavailable("again")])
    assert as_aiss_error(group) is unavailable
    nested = BaseExceptionGroup("outer", [group])
    assert as_aiss_error(nested) is unavailable
    mixed = BaseExceptionGroup("mixed", [unavailable, RuntimeError("a bug")])
    assert as_aiss_error(mixed).status == 500
