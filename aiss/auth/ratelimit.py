"""Sliding-window limits on login attempts, per username and per client address."""

from __future__ import annotations

import math
from collections import OrderedDict, deque


class SlidingWindow:
    """At most `limit` events per key in any `window` seconds; memory bounded by `max_keys`."""

    def __init__(self, limit: int, window: float, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, now: float) -> int:
        """0 when an event for `key` is allowed now, else the seconds to wait."""
        events = self._events.get(key)
        if events is None:
            return 0
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) < self.limit:
            return 0
        return max(1, math.ceil(events[0] + self.window - now))

    def record(self, key: str, now: float) -> None:
        events = self._events.setdefault(key, deque())
        self._events.move_to_end(key)
        events.append(now)
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)

    def clear(self, key: str) -> None:
        self._events.pop(key, None)
