"""Small actors whose behaviour the tests steer with messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio

from actors import Actor, ActorSpec, Request, Restart


class Boom(Exception):
    pass


class Expected(Exception):
    pass


@dataclass(frozen=True)
class Echo(Request[Any]):
    value: Any


@dataclass(frozen=True)
class Crash(Request[None]):
    pass


@dataclass(frozen=True)
class Refuse(Request[None]):
    """Raises a recoverable error: an answer, not a crash."""


@dataclass(frozen=True)
class Sleep(Request[None]):
    seconds: float


@dataclass(frozen=True)
class Finish(Request[str]):
    """Ends the incarnation normally after answering."""


@dataclass(frozen=True)
class Generation(Request[int]):
    pass


Message = Echo | Crash | Refuse | Sleep | Finish | Generation


@dataclass
class Journal:
    """What happened, in order: ("start" | "stop", name, generation)."""

    events: list[tuple[str, str, int]] = field(default_factory=list)
    starts: dict[str, int] = field(default_factory=dict)

    def stops(self) -> list[str]:
        return [name for kind, name, _ in self.events if kind == "stop"]


class Probe(Actor[Message]):
    recoverable = (Expected,)

    def __init__(self, name: str, journal: Journal, fail_start: bool = False) -> None:
        self.name = name
        self.journal = journal
        self.fail_start = fail_start
        self.generation = journal.starts.get(name, 0) + 1

    async def on_start(self) -> None:
        if self.fail_start:
            raise Boom(f"{self.name} refuses to start")
        self.journal.starts[self.name] = self.generation
        self.journal.events.append(("start", self.name, self.generation))

    async def handle(self, message: Message) -> Any:
        match message:
            case Echo(value):
                return value
            case Crash():
                raise Boom(self.name)
            case Refuse():
                raise Expected(self.name)
            case Sleep(seconds):
                await anyio.sleep(seconds)
                return None
            case Finish():
                self.stop()
                return "bye"
            case Generation():
                return self.generation

    async def on_stop(self) -> None:
        self.journal.events.append(("stop", self.name, self.generation))


def probe(
    name: str,
    journal: Journal,
    *,
    restart: Restart = Restart.PERMANENT,
    mailbox_size: int = 16,
    ask_timeout: float = 2.0,
    shutdown_timeout: float = 1.0,
) -> ActorSpec[Message]:
    return ActorSpec(
        name,
        lambda: Probe(name, journal),
        restart=restart,
        mailbox_size=mailbox_size,
        ask_timeout=ask_timeout,
        shutdown_timeout=shutdown_timeout,
    )


async def settled(check: Any, timeout: float = 2.0) -> None:
    """Wait until `check()` holds: restarts happen in the supervisor's own task."""
    with anyio.fail_after(timeout):
        while not check():
            await anyio.sleep(0.001)
