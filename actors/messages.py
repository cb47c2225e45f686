"""Typed messages and the one-shot reply channel that carries an answer back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio

R = TypeVar("R")
M = TypeVar("M")


class Request(Generic[R]):
    """Base class of messages that are asked: `R` is the type of the answer.

    Subclass it with a dataclass, for example
    `@dataclass(frozen=True) class GetUser(Request[User]): user_id: str`.
    """

    __slots__ = ()


class Reply(Generic[R]):
    """Holds the outcome of one ask until the asker takes it."""

    __slots__ = ("_abandoned", "_error", "_event", "_value")

    def __init__(self) -> None:
        self._event = anyio.Event()
        self._value: R | None = None
        self._error: BaseException | None = None
        self._abandoned = False

    @property
    def done(self) -> bool:
        return self._event.is_set()

    @property
    def abandoned(self) -> bool:
        """True once the asker has stopped waiting (timed out or cancelled)."""
        return self._abandoned

    def resolve(self, value: R) -> None:
        if not self.done:
            self._value = value
            self._event.set()

    def reject(self, error: BaseException) -> None:
        if not self.done:
            self._error = error
            self._event.set()

    def abandon(self) -> None:
        self._abandoned = True

    async def wait(self) -> R:
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


@dataclass(slots=True)
class Envelope(Generic[M]):
    message: M
    reply: Reply[Any] | None = None
