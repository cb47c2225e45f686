"""A small actor runtime on anyio: mailboxes, tell/ask, supervision trees."""

from .actor import Actor, ActorSpec
from .errors import (
    ActorDead,
    ActorError,
    AskTimeout,
    MailboxFull,
    RestartIntensityExceeded,
    TooManyChildren,
)
from .host import running
from .messages import Request
from .ref import ActorRef
from .service import Service
from .spec import UP, ActorMetrics, ChildSpec, Node, Restart, Status, Strategy
from .supervisor import DynamicSupervisor, Supervisor

__all__ = [
    "UP",
    "Actor",
    "ActorDead",
    "ActorError",
    "ActorMetrics",
    "ActorRef",
    "ActorSpec",
    "AskTimeout",
    "ChildSpec",
    "DynamicSupervisor",
    "MailboxFull",
    "Node",
    "Request",
    "Restart",
    "RestartIntensityExceeded",
    "Service",
    "Status",
    "Strategy",
    "Supervisor",
    "TooManyChildren",
    "running",
]
