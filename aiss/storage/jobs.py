"""A durable job queue in MongoDB: leases with deadlines, retries with backoff, dead letters.

A worker leases a job for `lease_seconds` and must heartbeat before that runs
out. Every state change after the lease names the lease's token, so a worker
whose lease expired (it stalled, or died and was replaced) can no longer
complete or fail the job: it gets `LeaseLost`. A job whose worker dies is
leased again once its lease expires, until its attempts run out; then it is
dead-lettered, never dropped.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument

from .models import JobRecord, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from contextlib import AbstractContextManager

    from pymongo.asynchronous.collection import AsyncCollection

    from .breaker import Breaker

Doc = dict[str, Any]
STATES = ("queued", "leased", "done", "dead")


class LeaseLost(Exception):
    """The lease expired and the job may be running elsewhere: stop working on it."""


@dataclass(frozen=True, slots=True)
class Lease:
    job_id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    token: str
    worker: str
    expires: datetime


class JobQueue:
    def __init__(
        self,
        collection: Callable[[], AsyncCollection[Doc]],
        *,
        breaker: Breaker | None = None,
        lease_seconds: float = 60.0,
        backoff_base: float = 2.0,
        backoff_max: float = 300.0,
        jitter: float = 0.1,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._collection = collection
        self._breaker = breaker
        self.lease_seconds = lease_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.jitter = jitter
        self.clock = clock

    def _guard(self) -> AbstractContextManager[None]:
        return self._breaker.guard() if self._breaker is not None else nullcontext()

    def backoff(self, attempt: int) -> float:
        """Seconds before retry `attempt` + 1: exponential, capped, with some jitter."""
        delay: float = min(self.backoff_max, self.backoff_base * 2.0 ** (attempt - 1))
        return delay * (1 + random.uniform(-self.jitter, self.jitter))

    async def enqueue(
        self, kind: str, payload: dict[str, Any], *, max_attempts: int = 5, delay: float = 0.0
    ) -> str:
        if max_attempts < 1:
            raise ValueError("a job needs at least one attempt")
        now = self.clock()
        job = JobRecord(
            kind=kind,
            payload=payload,
            attempts_left=max_attempts,
            run_after=now.timestamp() + delay,
            lease_expires=now.timestamp(),
            created_at=now,
        )
        with self._guard():
            result = await self._collection().insert_one(job.model_dump())
        return str(result.inserted_id)

    async def lease(self, worker: str, kinds: Sequence[str]) -> Lease | None:
        """Take the job that has waited longest among `kinds`, or None."""
        await self.sweep()
        now = self.clock().timestamp()
        token = uuid.uuid4().hex
        expires = now + self.lease_seconds
        ready = {"kind": {"$in": list(kinds)}, "attempts_left": {"$gt": 0}}
        with self._guard():
            doc = await self._collection().find_one_and_update(
                {
                    "$or": [
                        {**ready, "state": "queued", "run_after": {"$lte": now}},
                        {**ready, "state": "leased", "lease_expires": {"$lt": now}},
                    ]
                },
                {
                    "$set": {
                        "state": "leased",
                        "lease_token": token,
                        "lease_owner": worker,
                        "lease_expires": expires,
                    },
                    "$inc": {"attempts": 1, "attempts_left": -1},
                },
                sort=[("run_after", 1)],
                return_document=ReturnDocument.AFTER,
            )
        if doc is None:
            return None
        return Lease(
            job_id=str(doc["_id"]),
            kind=doc["kind"],
            payload=doc["payload"],
            attempt=doc["attempts"],
            token=token,
            worker=worker,
            expires=datetime.fromtimestamp(expires, UTC),
        )

    async def _update_leased(self, lease: Lease, changes: Doc) -> None:
        with self._guard():
            result = await self._collection().update_one(
                {
                    "_id": ObjectId(lease.job_id),
                    "state": "leased",
                    "lease_token": lease.token,
                    "lease_expires": {"$gte": self.clock().timestamp()},
                },
                {"$set": changes},
            )
        if result.matched_count != 1:
            raise LeaseLost(f"job {lease.job_id} is no longer leased to {lease.worker}")

    async def heartbeat(self, lease: Lease) -> Lease:
        """Extend the lease; raises `LeaseLost` if it already ran out."""
        expires = self.clock().timestamp() + self.lease_seconds
        await self._update_leased(lease, {"lease_expires": expires})
        return dataclasses.replace(lease, expires=datetime.fromtimestamp(expires, UTC))

    async def complete(self, lease: Lease) -> None:
        await self._update_leased(lease, {"state": "done", "finished_at": self.clock().timestamp()})

    async def fail(self, lease: Lease, error: str) -> str:
        """Record a failed attempt: retry after a backoff, or dead-letter. Returns the state."""
        job = await self.get(lease.job_id)
        if job is None:
            raise LeaseLost(f"job {lease.job_id} is gone")
        now = self.clock().timestamp()
        if job.attempts_left > 0:
            changes = {"state": "queued", "run_after": now + self.backoff(lease.attempt)}
        else:
            changes = {"state": "dead", "finished_at": now}
        await self._update_leased(lease, {**changes, "last_error": error[:2000]})
        return str(changes["state"])

    async def sweep(self) -> int:
        """Dead-letter expired leases that have no attempt left."""
        now = self.clock().timestamp()
        with self._guard():
            result = await self._collection().update_many(
                {"state": "leased", "lease_expires": {"$lt": now}, "attempts_left": {"$lte": 0}},
                {"$set": {"state": "dead", "finished_at": now, "last_error": "lease expired"}},
            )
        return result.modified_count

    async def get(self, job_id: str) -> JobRecord | None:
        try:
            key = ObjectId(job_id)
        except InvalidId:
            return None
        with self._guard():
            doc = await self._collection().find_one({"_id": key})
        return None if doc is None else JobRecord.model_validate(doc)

    async def counts(self) -> dict[str, int]:
        with self._guard():
            return {
                state: await self._collection().count_documents({"state": state})
                for state in STATES
            }
