"""Beanie document models.

They keep to what the embedded wire server supports (DESIGN.md): references
are `str` ids, never Link/DBRef or ObjectId fields; no Decimal128 or UUID
fields; and no query compares a field with None. A datetime written by an
update (`$set`) comes back as a string there, so times that updates change
and queries compare are stored as epoch seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from beanie import Document
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobRecord(BaseModel):
    """A unit of durable background work (ingesting one document, say).

    Plain pydantic, so the job queue works on any collection without beanie's
    global binding; `Job` adds the collection and its indexes.
    """

    kind: str
    payload: dict[str, Any] = Field(default_factory=dict)
    state: str = "queued"  # queued | leased | done | dead
    attempts: int = 0
    attempts_left: int = 5
    run_after: float = 0.0  # epoch seconds
    lease_token: str = ""
    lease_owner: str = ""
    lease_expires: float = 0.0  # epoch seconds
    last_error: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: float = 0.0  # epoch seconds; 0 while unfinished


class Job(JobRecord, Document):
    class Settings:
        name = "jobs"
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel(
                [("kind", ASCENDING), ("state", ASCENDING), ("run_after", ASCENDING)],
                name="kind_state_run_after",
            ),
            IndexModel([("state", ASCENDING), ("lease_expires", ASCENDING)], name="state_lease"),
        ]


DOCUMENT_MODELS: list[type[Document]] = [Job]
