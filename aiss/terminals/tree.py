"""The `terminals` subtree: the sessions' dynamic supervisor and their janitor."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from actors import Service, Strategy, Supervisor
from terminal.processes import become_subreaper, reap_strays

from ..auth.sealing import Sealer
from ..storage.models import TerminalSessionRecord
from ..tree import supervisor
from .manager import Terminals

if TYPE_CHECKING:
    from anyio.abc import TaskStatus

    from ..config import Settings
    from ..storage.stores import Stores

logger = logging.getLogger("aiss.terminal")
PURGE_EVERY = 3600.0
REAP_EVERY = 2.0


async def purge(
    terminals: Terminals,
    *,
    sessions_older_than: float | None = None,
    commands_older_than: float | None = None,
) -> dict[str, int]:
    """Forget ended sessions (records and recordings) and commands older than these
    (in seconds; by default the retention settings)."""
    now = time.time()
    settings, stores = terminals.settings, terminals.stores
    if sessions_older_than is None:
        sessions_older_than = settings.terminal_session_retention
    if commands_older_than is None:
        commands_older_than = settings.terminal_command_retention
    sessions_before = now - sessions_older_than
    commands_before = now - commands_older_than
    with stores.mongo.breaker.guard():
        old = await TerminalSessionRecord.find(
            {"ended_at": {"$gt": 0, "$lt": sessions_before}}
        ).to_list()
    for record in old:
        for key in await stores.objects.keys(f"recordings/{record.id}/"):
            await stores.objects.delete(key)
        with stores.mongo.breaker.guard():
            await record.delete()
    with stores.mongo.breaker.guard():
        commands = await stores.mongo.collection("terminal_commands").delete_many(
            {"ended_at": {"$lt": commands_before}}
        )
    return {"sessions": len(old), "commands": int(commands.deleted_count)}


class Janitor(Service):
    """Removes ended sessions from the supervisor, stores commands, purges old records."""

    def __init__(self, terminals: Terminals) -> None:
        super().__init__("janitor")
        self.terminals = terminals

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        if self.terminals.probe is None:  # once: a restart keeps what was found
            await self.terminals.find_sandbox()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.terminals.tidy)
            tg.start_soon(self._purge_now_and_then)
            tg.start_soon(self._reap_now_and_then)
            task_status.started()
            await stop.wait()
            tg.cancel_scope.cancel()

    async def _reap_now_and_then(self) -> None:
        """Shells' orphans that ended while their session runs come to this server."""
        uids = self.terminals.sandbox_config.uids
        while True:
            await anyio.sleep(REAP_EVERY)
            reap_strays(uids)

    async def _purge_now_and_then(self) -> None:
        while True:
            await anyio.sleep(PURGE_EVERY)
            try:
                purged = await purge(self.terminals)
            except Exception:
                logger.warning("terminal retention purge failed", exc_info=True)
            else:
                logger.info("terminal retention purge", extra=purged)


@dataclass(frozen=True)
class TerminalsPart:
    tree: Supervisor
    terminals: Terminals


def build_terminals(settings: Settings, stores: Stores) -> TerminalsPart:
    become_subreaper()
    terminals = Terminals(settings, stores, Sealer.from_settings(settings))
    tree = supervisor(
        settings, "terminals", [terminals.supervisor, Janitor(terminals)], Strategy.ONE_FOR_ONE
    )
    return TerminalsPart(tree, terminals)
