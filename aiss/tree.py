"""The supervision tree of one process, cut to the subtrees its role runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from actors import Strategy, Supervisor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from actors import ChildSpec

    from .config import Settings

# The subtrees each role runs; "all" runs every one. Subtrees reach the ones
# another role runs over HTTP, through the same messages.
ROLE_SUBTREES: Final[dict[str, frozenset[str]]] = {
    "gateway": frozenset(),
    "users": frozenset({"stores", "users"}),
    "documents": frozenset({"stores", "documents"}),
    "context": frozenset({"stores", "context"}),
    "embedding": frozenset({"embedding"}),
    "rag": frozenset({"stores", "rag"}),
    "terminal-gateway": frozenset({"ssh_gateway"}),
    "terminal-sessions": frozenset({"stores", "terminals"}),
}


def build_tree(settings: Settings, subtrees: Sequence[ChildSpec]) -> Supervisor:
    """The root supervisor over the `subtrees` that `settings.role` runs, in order."""
    wanted = ROLE_SUBTREES.get(settings.role)
    children = [spec for spec in subtrees if wanted is None or spec.name in wanted]
    return Supervisor(
        "root",
        children,
        strategy=Strategy.ONE_FOR_ONE,
        max_restarts=settings.max_restarts,
        within=settings.restart_window,
        shutdown_timeout=settings.shutdown_timeout,
    )
