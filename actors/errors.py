"""The runtime's error tree.

```
ActorError
├── ActorDead                  the actor is stopped; the message was not handled
├── MailboxFull                the bounded mailbox refused the message
├── AskTimeout                 no reply within the deadline
├── TooManyChildren            a dynamic supervisor is at its limit
└── RestartIntensityExceeded   a supervisor gave up and escalates to its parent
```
"""

from __future__ import annotations


class ActorError(Exception):
    """Base class of every error the runtime raises."""


class ActorDead(ActorError):
    def __init__(self, actor: str) -> None:
        super().__init__(f"actor {actor!r} is not running")
        self.actor = actor


class MailboxFull(ActorError):
    def __init__(self, actor: str, capacity: int) -> None:
        super().__init__(f"mailbox of {actor!r} is full ({capacity} messages)")
        self.actor = actor
        self.capacity = capacity


class AskTimeout(ActorError, TimeoutError):
    def __init__(self, actor: str, timeout: float) -> None:
        super().__init__(f"{actor!r} did not answer within {timeout:g} s")
        self.actor = actor
        self.timeout = timeout


class TooManyChildren(ActorError):
    def __init__(self, supervisor: str, limit: int) -> None:
        super().__init__(f"{supervisor!r} already runs its limit of {limit} children")
        self.supervisor = supervisor
        self.limit = limit


class RestartIntensityExceeded(ActorError):
    def __init__(self, supervisor: str, restarts: int, within: float) -> None:
        super().__init__(f"{supervisor!r} needed more than {restarts} restarts within {within:g} s")
        self.supervisor = supervisor
        self.restarts = restarts
        self.within = within
