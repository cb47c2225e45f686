"""Which role answers which path."""

from __future__ import annotations

from typing import Final

# Longest prefixes first is not needed: no prefix here is inside another.
ROUTES: Final[tuple[tuple[str, str], ...]] = (
    ("/api/v1/auth", "users"),
    ("/api/v1/users", "users"),
    ("/api/v1/embeddings", "embedding"),
    ("/v1/embeddings", "embedding"),
    ("/api/v1/documents", "documents"),
    ("/api/v1/events", "documents"),
    ("/api/v1/search", "documents"),
    ("/api/v1/admin/reindex", "documents"),
    ("/api/v1/areas", "context"),
    ("/api/v1/llm", "context"),
    ("/api/v1/contexts", "context"),
    ("/api/v1/rag", "rag"),
    ("/api/v1/conversations", "rag"),
    ("/api/v1/admin/feedback", "rag"),
    ("/mcp", "rag"),
    ("/api/v1/terminal", "terminal-sessions"),
    ("/api/v1/admin/terminal", "terminal-sessions"),
)


def role_for(path: str) -> str | None:
    """The role serving `path`, or None when no role does."""
    for prefix, role in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return role
    return None


def session_of(path: str) -> str | None:
    """The session id of a path about one terminal session, which its owner must answer."""
    parts = path.split("/")
    # /api/v1/terminal/sessions/{id}[/ticket|/stream|/recording]
    if len(parts) in (6, 7) and parts[1:5] == ["api", "v1", "terminal", "sessions"] and parts[5]:
        return parts[5]
    return None
