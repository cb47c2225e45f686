"""What questions and tools need of the documents concern, wherever it runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..storage.vectors import SearchMode
    from ..users.views import Principal
    from .library import Hit, Upload


@dataclass(frozen=True, slots=True)
class Stored:
    """A document just stored: its id, status, and whether the same bytes were there."""

    id: str
    status: str
    duplicate: bool


class Knowledge(Protocol):
    """Search and store as a caller: the library itself, or the documents role over HTTP."""

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
        """The best passages, best first; `mode` None is the server's default."""

    async def store(
        self, principal: Principal, meta: Upload, content: bytes, filename: str
    ) -> Stored: ...
