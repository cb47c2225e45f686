"""Who may read and write which documents.

Personal documents belong to their owner alone. Shared documents live in an
area: reading needs read permission on it, writing needs write permission;
administrators may read and write every area. Every read of a document,
chunk, vector hit or event goes through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..users.views import Principal

# Where a list of areas to search may name the caller's personal documents too.
PERSONAL_AREA = "personal"


class Placed(Protocol):
    @property
    def owner_id(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def area_id(self) -> str: ...


def readable_areas(principal: Principal) -> set[str] | None:
    """The areas `principal` may read; None means every area (administrators)."""
    if principal.is_admin:
        return None
    return {p.area_id for p in principal.permissions if p.read or p.write}


def can_write_area(principal: Principal, area_id: str) -> bool:
    return principal.is_admin or any(
        p.area_id == area_id and p.write for p in principal.permissions
    )


def can_read(principal: Principal, item: Placed) -> bool:
    if item.scope == "personal":
        return item.owner_id == principal.user_id
    areas = readable_areas(principal)
    return areas is None or item.area_id in areas


def can_change(principal: Principal, item: Placed) -> bool:
    if item.scope == "personal":
        return item.owner_id == principal.user_id
    return can_write_area(principal, item.area_id)
