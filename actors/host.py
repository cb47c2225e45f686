"""Running a root supervisor for the lifetime of a block (an app's lifespan)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio

from .spec import StartWatch, Status

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from anyio.abc import TaskStatus

    from .supervisor import Supervisor

logger = logging.getLogger("actors")


@asynccontextmanager
async def running(
    root: Supervisor, *, on_failure: Callable[[Exception], None] | None = None
) -> AsyncIterator[Supervisor]:
    """Start `root` (raising if it cannot start) and stop it when the block ends.

    A root that gives up later is not raised into the block, which may be
    serving requests: it is logged, marked failed, and `on_failure` is called.
    Leaving the block asks the tree to stop and cancels it after
    `root.shutdown_timeout` seconds.
    """
    done = anyio.Event()

    async def guard(*, task_status: TaskStatus[None]) -> None:
        watch = StartWatch(task_status)
        root.metrics.status = Status.STARTING
        try:
            await root.run(task_status=watch)
        except Exception as exc:
            root.metrics.status = Status.FAILED
            if not watch.has_started:
                raise
            logger.critical("supervision tree %r gave up", root.name, exc_info=exc)
            if on_failure is not None:
                on_failure(exc)
        else:
            root.metrics.status = Status.STOPPED
        finally:
            done.set()

    error: Exception | None = None
    async with anyio.create_task_group() as tg:
        try:
            await tg.start(guard)
        except Exception as exc:
            error = exc
        else:
            root.metrics.status = Status.RUNNING
            try:
                yield root
            except Exception as exc:
                error = exc
            finally:
                root.request_stop()
                with anyio.move_on_after(root.shutdown_timeout, shield=True):
                    await done.wait()
                tg.cancel_scope.cancel()
    if error is not None:
        # Raised outside the task group so the caller sees it unwrapped.
        raise error
