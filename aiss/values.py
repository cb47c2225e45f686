"""Parsers for the textual forms settings take: durations, sizes, booleans, lists."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_SIZE = re.compile(r"(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
    None: 1,
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

MAX_DURATION = 10 * 365 * 86400
DURATION_FORM = "a duration such as 30m, 7d, 3600s or 500ms (a bare number is seconds)"
SIZE_FORM = "a size such as 50MiB, 10MB or 1048576 (bytes)"
BOOL_FORM = "one of true, false, 1, 0, yes, no, on, off"
RATE_FORM = "a rate such as 10/5m: that many events per duration"


def parse_duration(text: str) -> timedelta:
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(DURATION_FORM)
    seconds = float(match[1]) * _DURATION_UNITS[match[2]]
    if not 0 < seconds <= MAX_DURATION:
        raise ValueError(f"{DURATION_FORM}, above zero and at most 10 years")
    return timedelta(seconds=seconds)


def parse_size(text: str) -> int:
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(SIZE_FORM)
    unit = match[2].lower() if match[2] else None
    size = int(match[1]) * _SIZE_UNITS[unit]
    if size <= 0:
        raise ValueError(f"{SIZE_FORM}, above zero")
    return size


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(BOOL_FORM)


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def parse_uid_range(text: str) -> tuple[int, int]:
    """`A-B` -> (A, B): uids from the first to the last, inclusive."""
    low, sep, high = text.partition("-")
    try:
        first, last = int(low), int(high)
    except ValueError:
        first = last = -1
    if not sep or not 1000 <= first < last <= 2**31 - 2:
        raise ValueError(
            "a range of uids such as 1879048192-1879113727, from 1000 up, first below last"
        )
    return first, last


def parse_rate(text: str) -> tuple[int, float]:
    """`10/5m` -> (10, 300.0): at most 10 events in any 5 minutes."""
    count, _, window = text.partition("/")
    try:
        limit = int(count)
        seconds = parse_duration(window).total_seconds()
    except ValueError:
        raise ValueError(RATE_FORM) from None
    if limit < 1:
        raise ValueError(RATE_FORM)
    return limit, seconds


URL_FORM = "an http:// or https:// URL with a host, such as http://users:8081"
NODE_FORM = "host:port, such as terminal-sessions-1:8087"
_NODE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?:[0-9]{1,5}")


def parse_http_url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(URL_FORM)
    try:
        parts.port  # noqa: B018 - a port outside 0-65535 raises here
    except ValueError:
        raise ValueError(URL_FORM) from None
    return text.strip().rstrip("/")


def parse_node(text: str) -> str:
    """A node address, or empty for "work it out at start"."""
    text = text.strip()
    if text and (not _NODE.fullmatch(text) or int(text.rpartition(":")[2]) > 65535):
        raise ValueError(NODE_FORM)
    return text
