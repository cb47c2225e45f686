"""Document progress events, fanned out in process to the streams allowed to see them."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import anyio
from anyio import WouldBlock

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

STAGES = ("queued", "extracting", "chunking", "embedding", "indexing", "ready", "failed")


@dataclass(frozen=True, slots=True)
class DocumentEvent:
    document_id: str
    owner_id: str
    scope: str
    area_id: str
    stage: str
    percent: int
    error: str = ""

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: data[k] for k in ("document_id", "stage", "percent", "error")}


class EventBus:
    """A slow subscriber loses events rather than slowing ingestion: the status stays in GET."""

    def __init__(self, buffer: int = 256) -> None:
        self.buffer = buffer
        self._subscribers: dict[
            MemoryObjectSendStream[DocumentEvent], Callable[[DocumentEvent], bool]
        ] = {}

    def publish(self, event: DocumentEvent) -> None:
        for stream, wanted in list(self._subscribers.items()):
            if wanted(event):
                with contextlib.suppress(WouldBlock, anyio.BrokenResourceError):
                    stream.send_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, wanted: Callable[[DocumentEvent], bool]
    ) -> AsyncIterator[MemoryObjectReceiveStream[DocumentEvent]]:
        send, receive = anyio.create_memory_object_stream[DocumentEvent](self.buffer)
        self._subscribers[send] = wanted
        try:
            async with send, receive:
                yield receive
        finally:
            self._subscribers.pop(send, None)
