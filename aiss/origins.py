"""Which browser origins may open a WebSocket: the page's own, or CORS_ALLOWED_ORIGINS."""

from __future__ import annotations


def origin_allowed(origin: str | None, host: str, allowed: tuple[str, ...]) -> bool:
    """No Origin (not a browser), the same host, or a listed origin."""
    if not origin:
        return True
    same = origin.split("://", 1)[-1] == host
    return same or "*" in allowed or origin in allowed
