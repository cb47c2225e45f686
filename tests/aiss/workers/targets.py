"""Objects the worker tests make in a child process (imported there by name)."""

from __future__ import annotations

import os
import time


class Target:
    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return f"target {self.label}"

    def whoami(self) -> tuple[str, int]:
        return self.label, os.getpid()

    def echo(self, value: object) -> object:
        return value

    def sleep(self, seconds: float) -> str:
        time.sleep(seconds)
        return "slept"

    def refuse(self, message: str) -> None:
        raise KeyError(message)

    def unpicklable(self) -> None:
        class Local(Exception):
            pass

        raise Local("made here")

    def crash(self) -> None:
        os._exit(3)


def broken() -> Target:
    raise RuntimeError("no model here")


class Foreign(Exception):
    """An exception of a library: the server should not have to import it."""


class Flaky:
    """Starts, then fails its second start (the file counts them), then starts again."""

    def __init__(self, counter: str) -> None:
        from pathlib import Path

        path = Path(counter)
        starts = int(path.read_text()) + 1 if path.exists() else 1
        path.write_text(str(starts))
        if starts == 2:
            raise RuntimeError("the second start fails")

    def starts(self) -> int:
        return 1

    def foreign(self) -> None:
        raise Foreign("from a library")

    def unpicklable(self) -> object:
        return lambda: None

    def panic(self) -> None:
        panic()


class Panic(BaseException):
    """What a Rust library raises when it panics (pyo3's PanicException is one)."""


def panic() -> None:
    raise Panic("a library panicked")
