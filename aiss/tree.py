"""The supervision tree of one process, cut to the subtrees its role runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from actors import Strategy, Supervisor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from actors import ChildSpec

    from .config import Settings

# The subtrees each role runs; "all" runs every one. Every role but the
# gateway authenticates its own callers (`users`, over the shared MongoDB).
# Over HTTP: `documents` embeds through `embedding`, `rag` searches through
# `documents` as the caller, and the gateway proxies to all of them.
ROLE_SUBTREES: Final[dict[str, frozenset[str]]] = {
    "gateway": frozenset(),
    "users": frozenset({"stores", "users"}),
    "documents": frozenset({"stores", "users", "documents"}),
    "context": frozenset({"stores", "users", "context"}),
    "embedding": frozenset({"stores", "users", "embedding"}),
    "rag": frozenset({"stores", "users", "rag"}),
    "terminal-gateway": frozenset({"stores", "users", "terminals", "ssh_gateway"}),
    "terminal-sessions": frozenset({"stores", "users", "terminals"}),
}


def runs(role: str, subtree: str) -> bool:
    wanted = ROLE_SUBTREES.get(role)
    return wanted is None or subtree in wanted


def supervisor(
    settings: Settings, name: str, children: Sequence[ChildSpec], strategy: Strategy
) -> Supervisor:
    """A supervisor with the restart limits and stop deadline of the settings."""
    return Supervisor(
        name,
        children,
        strategy=strategy,
        max_restarts=settings.max_restarts,
        within=settings.restart_window,
        shutdown_timeout=settings.shutdown_timeout,
    )


def build_tree(settings: Settings, subtrees: Sequence[ChildSpec]) -> Supervisor:
    """The root supervisor over the `subtrees` that `settings.role` runs, in order."""
    children = [spec for spec in subtrees if runs(settings.role, spec.name)]
    return supervisor(settings, "root", children, Strategy.ONE_FOR_ONE)
