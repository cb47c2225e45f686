"""The documents role reached over HTTP, as the caller, by a process that does not run it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import AissError, ServiceUnavailable, TooManyRequests, from_http_status
from .knowledge import Stored
from .library import Cited, Hit
from .retrieval import QUERY_CHARS

if TYPE_CHECKING:
    from ..storage.vectors import SearchMode
    from ..users.views import Principal
    from .library import Upload

API = "/api/v1"


class RemoteLibrary:
    """Search and store through another role's public API, with the caller's own credential.

    The documents role checks every right itself, so nothing here can widen them.
    """

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url
        self.client = client

    async def search(
        self,
        principal: Principal,
        query: str,
        *,
        scope: str | None,
        area_ids: list[str] | None,
        tags: list[str] | None,
        limit: int,
        mode: SearchMode | None = None,
    ) -> list[Hit]:
        body = {
            "query": query[:QUERY_CHARS],
            "scope": scope,
            "area_ids": area_ids,
            "tags": tags,
            "mode": mode,
        }
        # The route answers at most 50 passages: enough for any prompt's sources.
        answer = await self._call(
            principal, "POST", f"{API}/search", json=body | {"limit": min(limit, 50)}
        )
        return [
            Hit(
                Cited(
                    h["document_id"],
                    h["title"],
                    h["owner_id"],
                    h["scope"],
                    h["area_id"] or "",
                    tuple(h["tags"]),
                    h["link"] or "",
                ),
                h["chunk_index"],
                h["text"],
                h["score"],
                h["page"] or 0,
            )
            for h in answer["hits"]
        ]

    async def store(
        self, principal: Principal, meta: Upload, content: bytes, filename: str
    ) -> Stored:
        fields = {
            "title": meta.title,
            "description": meta.description,
            "tags": ",".join(meta.tags),
            "scope": meta.scope,
        }
        if meta.area_id:
            fields["area_id"] = meta.area_id
        answer = await self._call(
            principal,
            "POST",
            f"{API}/documents",
            data=fields,
            files={"file": (filename, content)},
        )
        return Stored(answer["id"], answer["status"], bool(answer.get("duplicate")))

    async def _call(self, principal: Principal, method: str, path: str, **kw: Any) -> Any:
        if not principal.credential:
            raise ServiceUnavailable("the documents role needs the caller's credential")
        headers = {"Authorization": f"Bearer {principal.credential}"}
        try:
            response = await self.client.request(
                method, self.base_url + path, headers=headers, **kw
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"the documents role at {self.base_url} cannot be reached ({type(exc).__name__})"
            ) from None
        if response.is_success:
            return response.json()
        raise _error(response)


def _error(response: httpx.Response) -> AissError:
    """The documents role's own error, as if it had happened here."""
    try:
        body = response.json()
        message, details = str(body["message"]), body.get("details")
    except (json.JSONDecodeError, KeyError, TypeError):
        message, details = f"the documents role answered {response.status_code}", None
    error = from_http_status(response.status_code, message)
    error.details = details
    retry = response.headers.get("retry-after", "")
    if isinstance(error, TooManyRequests) and retry.isdigit():
        error.retry_after = int(retry)
    return error
