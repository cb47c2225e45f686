"""Terminal sessions of this process: opening, finding, sharing, tickets and ending.

Each session is a child of the `terminals` dynamic supervisor; its record in
MongoDB follows its state. Reads are filtered here: a session is visible to
its owner, to the users it is shared with (as observers) and to administrators.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import secrets
import socket
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
from beanie import PydanticObjectId
from prometheus_client.core import GaugeMetricFamily

from actors import DynamicSupervisor
from terminal.commands import BASH_INTEGRATION, Command, CommandLog
from terminal.pty import LocalPty, environment
from terminal.recorder import Recorder
from terminal.sandbox import Config, Limits, Probe, build, choose
from terminal.scrollback import Ring
from terminal.session import Policy, TerminalSession

from ..errors import (
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from ..storage.models import TerminalCommand, TerminalSessionRecord
from .homes import Homes
from .learning import learn
from .targets import SshTargets

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator

    from prometheus_client import Metric

    from terminal.sandbox import Sandbox
    from terminal.session import Program
    from terminal.ssh import Credentials

    from ..auth.sealing import Sealer
    from ..config import Settings
    from ..documents.library import Library
    from ..storage.stores import Stores
    from ..users.views import Principal

logger = logging.getLogger("aiss.terminal")
Role = Literal["driver", "observer"]
TICKET_SECONDS = 30.0


@dataclass(frozen=True)
class LocalTarget:
    shell: str | None = None


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int
    credentials: Credentials
    save_credentials: bool = False


@dataclass(frozen=True)
class Ticket:
    session_id: str
    principal: Principal
    role: Role
    expires: float

    @property
    def user_id(self) -> str:
        return self.principal.user_id


def allowed_shells() -> set[str]:
    try:
        lines = Path("/etc/shells").read_text().splitlines()
    except OSError:
        return set()
    return {line.strip() for line in lines if line.strip().startswith("/")}


class Terminals:
    def __init__(self, settings: Settings, stores: Stores, sealer: Sealer) -> None:
        self.settings = settings
        self.stores = stores
        self.sealer = sealer
        self.targets = SshTargets(stores, sealer, settings.terminal_connect_timeout)
        self.supervisor = DynamicSupervisor(
            "sessions",
            [],
            max_children=settings.terminal_max_sessions,
            shutdown_timeout=settings.shutdown_timeout,
        )
        self.sessions: dict[str, TerminalSession] = {}
        self._opening: dict[str, int] = {}  # sessions being opened, by user id
        self._storing = anyio.CapacityLimiter(4)  # recording parts on their way to storage
        self.tickets: dict[str, Ticket] = {}
        # host:port at which the load balancer reaches this process (`aiss serve` fills it in).
        self.node = settings.node or f"{socket.gethostname()}:{settings.port}"
        root = os.geteuid() == 0
        self.homes = Homes(
            settings.homes_dir,
            settings.terminal_uid_range if root else None,
            legacy=settings.data_dir / "terminal" / "home",
        )
        self.sandbox_config = sandbox_config(settings)
        self.unsandboxed = build("none", self.sandbox_config)
        self.probe: Probe | None = None  # set by find_sandbox() at start
        self.policy = Policy(
            scrollback=settings.terminal_scrollback,
            high_watermark=settings.terminal_high_watermark,
            low_watermark=settings.terminal_low_watermark,
            idle_timeout=settings.terminal_idle_timeout,
            max_lifetime=settings.terminal_max_lifetime,
            connect_timeout=settings.terminal_connect_timeout,
        )
        self.recorders: dict[str, Recorder] = {}
        self.logs: dict[str, CommandLog] = {}
        # Sessions whose commands become their owner's knowledge, and what that needs.
        self.indexed: dict[str, tuple[Principal, float]] = {}
        self.library: Library | None = None  # set by the lifespan once built
        # Work for the janitor: sessions that ended, commands to store.
        self._ended: deque[str] = deque()
        self._commands: deque[tuple[str, str, str, Command]] = deque(maxlen=10_000)
        self._work: anyio.Event | None = None

    def metric_families(self) -> Iterable[Metric]:
        """Sessions by state and their traffic, for /metrics."""
        sessions = GaugeMetricFamily(
            "aiss_terminal_sessions", "Terminal sessions in this process", labels=["status"]
        )
        counts: dict[str, int] = {}
        for session in self.sessions.values():
            counts[session.state] = counts.get(session.state, 0) + 1
        for status in ("connecting", "connected", "detached"):
            sessions.add_metric([status], counts.get(status, 0))
        viewers = GaugeMetricFamily("aiss_terminal_viewers", "WebSocket viewers attached")
        viewers.add_metric([], sum(len(s.viewers) for s in self.sessions.values()))
        out = GaugeMetricFamily(
            "aiss_terminal_output_bytes", "Output bytes of the sessions running now"
        )
        out.add_metric([], sum(s.bytes_out for s in self.sessions.values()))
        typed = GaugeMetricFamily(
            "aiss_terminal_input_bytes", "Input bytes of the sessions running now"
        )
        typed.add_metric([], sum(s.bytes_in for s in self.sessions.values()))
        backlog = GaugeMetricFamily(
            "aiss_terminal_recording_backlog_bytes", "Recording bytes waiting for storage"
        )
        backlog.add_metric([], sum(r.backlog for r in self.recorders.values()))
        lost = GaugeMetricFamily(
            "aiss_terminal_recording_lost_bytes",
            "Output bytes the running sessions' recordings left out (storage behind)",
        )
        lost.add_metric([], sum(r.lost for r in self.recorders.values()))
        held = GaugeMetricFamily(
            "aiss_terminal_scrollback_bytes", "Scrollback held in memory by the running sessions"
        )
        held.add_metric([], sum(s.ring.held for s in self.sessions.values()))
        yield from (sessions, viewers, out, typed, backlog, lost, held)

    # -- opening -------------------------------------------------------------------------

    async def open(
        self,
        principal: Principal,
        target: LocalTarget | SshTarget,
        *,
        cols: int,
        rows: int,
        term: str,
        title: str = "",
        index_commands: bool = False,
    ) -> TerminalSessionRecord:
        with self._reserved(principal.user_id) as placed:
            return await self._open(
                principal, target, cols, rows, term, title, index_commands, placed
            )

    @contextlib.contextmanager
    def _reserved(self, user_id: str) -> Iterator[Callable[[], None]]:
        """A place among the user's sessions, held while one opens: checked and taken
        with no await between, so concurrent opens cannot pass the limit together.
        Calling what it yields hands the place to the session, now among `sessions`."""
        running = sum(
            1 for s in self.sessions.values() if s.owner_id == user_id and not s.ended.is_set()
        )
        limit = self.settings.terminal_max_per_user
        if running + self._opening.get(user_id, 0) >= limit:
            raise TooManyRequests(f"you already run {limit} terminal sessions; end one first")
        self._opening[user_id] = self._opening.get(user_id, 0) + 1
        held = True

        def placed() -> None:
            nonlocal held
            if held:
                held = False
                self._opening[user_id] -= 1
                if not self._opening[user_id]:
                    del self._opening[user_id]

        try:
            yield placed
        finally:
            placed()

    async def _open(
        self,
        principal: Principal,
        target: LocalTarget | SshTarget,
        cols: int,
        rows: int,
        term: str,
        title: str,
        index_commands: bool,
        placed: Callable[[], None],
    ) -> TerminalSessionRecord:
        if isinstance(target, LocalTarget):
            opener, described, heuristic = self._local(principal, target, cols, rows, term)
            host = "local"
        else:
            opener, described = await self.targets.prepare(principal, target, cols, rows, term)
            heuristic, host = True, target.host
        record = TerminalSessionRecord(
            owner_id=principal.user_id,
            target=described,
            cols=cols,
            rows=rows,
            term=term,
            title=title,
            node=self.node,
            index_commands=index_commands,
        )
        with self.stores.mongo.breaker.guard():
            await record.insert()
        session_id = str(record.id)
        ring = Ring(self.policy.scrollback)  # the recorder reads output back from it
        recorder = Recorder(
            lambda index, data: self._store_part(session_id, index, data),
            cols=cols,
            rows=rows,
            env={"TERM": term, "SHELL": described.get("shell", "")},
            title=title,
            record_input=self.settings.terminal_record_input and host == "local",
            ring=ring,
            limiter=self._storing,
        )

        def done(command: Command) -> None:
            self._commands.append((session_id, principal.user_id, host, command))
            self._wake()

        log = CommandLog(done, heuristic=heuristic)
        session = TerminalSession(
            session_id,
            principal.user_id,
            opener,
            cols=cols,
            rows=rows,
            policy=self.policy,
            sinks=[recorder, log],
            tasks=[recorder.run],
            on_state=self._on_state,
            ring=ring,
        )
        self.sessions[session_id] = session
        placed()
        self.recorders[session_id] = recorder
        self.logs[session_id] = log
        if index_commands:
            self.indexed[session_id] = (principal, record.created_at)
        try:
            await self.supervisor.start_child(session)
        except Exception:
            self.sessions.pop(session_id, None)
            self.recorders.pop(session_id, None)
            record.status, record.error, record.ended_at = "failed", "not started", time.time()
            await record.save()
            raise
        return record

    async def _store_part(self, session_id: str, index: int, data: bytes) -> None:
        key = f"recordings/{session_id}/{index:06d}.cast"
        await self.stores.objects.put(key, data, content_type="application/x-asciicast")

    async def find_sandbox(self) -> Probe:
        """Probe the configured sandbox once (a real sandboxed `true`) and say what runs."""
        wanted = self.settings.terminal_sandbox

        def probe() -> Probe:
            self.homes.ready()
            found = choose(wanted, self.sandbox_config, self.homes.probe_identity())
            self.unsandboxed.write_rcfile()  # the uid backend reads the same file
            return found

        self.probe = await anyio.to_thread.run_sync(probe)
        if self.probe.name == "uid":
            # This backend hides by permissions alone: say which secrets others may read.
            exposed = await anyio.to_thread.run_sync(readable_by_others, self.sandbox_config.hide)
            if exposed:
                logger.warning(
                    "paths to hide are readable by local shells under the uid sandbox",
                    extra={"paths": [str(p) for p in exposed]},
                )
        if self.probe.sandbox is not None:
            logger.info("local shells run in a sandbox", extra={"sandbox": self.probe.name})
        else:
            logger.warning(
                "no sandbox for local shells: administrators only",
                extra={"sandbox_wanted": wanted, "tried": self.probe.tried},
            )
        return self.probe

    @property
    def sandbox(self) -> Sandbox | None:
        """The sandbox that runs local shells; None before the probe, or if none works."""
        return self.probe.sandbox if self.probe else None

    def local_policy(self) -> str:
        """Who may open local shells: the setting, else everyone when a sandbox runs."""
        sandboxed = self.sandbox is not None and self.sandbox.name != "none"
        return self.settings.terminal_local or ("all" if sandboxed else "admin")

    def capabilities(self, principal: Principal) -> dict[str, Any]:
        return {
            "sandbox": self.sandbox.name if self.sandbox else None,
            "sandbox_setting": self.settings.terminal_sandbox,
            "not_available": dict(self.probe.tried) if self.probe else {},
            "local": self.local_policy(),
            "local_for_you": self._local_refusal(principal) is None,
            "network": self.settings.terminal_network,
            "limits": dataclasses.asdict(self.sandbox_config.limits),
        }

    def _local_refusal(self, principal: Principal) -> str | None:
        """Why `principal` may not open a local shell here; None if they may."""
        policy = self.local_policy()
        if policy == "none" or (policy == "admin" and not principal.is_admin):
            return "local shells are not available to you on this server (AISS_TERMINAL_LOCAL)"
        if principal.is_admin:
            return None
        if self.sandbox is None:
            tried = (
                "; ".join(f"{k}: {v}" for k, v in self.probe.tried.items()) if self.probe else ""
            )
            return (
                "local shells run only in a sandbox, and none works on this server"
                f" (AISS_TERMINAL_SANDBOX={self.settings.terminal_sandbox}"
                + (f"; {tried}" if tried else "")
                + ")"
            )
        if self.sandbox.name == "none":
            return "unsandboxed local shells (AISS_TERMINAL_SANDBOX=none) are for administrators"
        return None

    def _local(
        self, principal: Principal, target: LocalTarget, cols: int, rows: int, term: str
    ) -> tuple[Any, dict[str, Any], bool]:
        refusal = self._local_refusal(principal)
        if refusal is not None:
            raise Forbidden(refusal)
        sandbox = self.sandbox or self.unsandboxed
        shell = target.shell or self.settings.terminal_shell
        if shell not in allowed_shells():
            raise ValidationFailed(
                f"{shell!r} is not a login shell of this host (see /etc/shells)",
                [{"loc": ["target", "shell"]}],
            )
        bash = Path(shell).name == "bash"

        async def opener() -> Program:
            identity = await anyio.to_thread.run_sync(
                self.homes.identity, principal.user_id, principal.username
            )
            argv = [shell, "--rcfile", sandbox.rcfile, "-i"] if bash else [shell, "-i"]
            env = environment(
                os.environ,
                home=sandbox.home(identity),
                user=identity.name,
                shell=shell,
                term=term,
                extra={"AISS_SESSION": "1"},
            )
            launch = sandbox.prepare(argv, identity)
            return LocalPty.spawn(launch, env=env, cols=cols, rows=rows)

        return opener, {"type": "local", "shell": shell, "sandbox": sandbox.name}, not bash

    # -- state ---------------------------------------------------------------------------

    async def _on_state(self, session: TerminalSession, state: str) -> None:
        fields: dict[str, Any] = {
            "status": state,
            "updated_at": time.time(),
            "bytes_in": session.bytes_in,
            "bytes_out": session.bytes_out,
            "cols": session.cols,
            "rows": session.rows,
        }
        if state in ("closed", "failed"):
            recorder = self.recorders.get(session.id)
            fields.update(
                ended_at=time.time(),
                exit_code=session.exit_code if session.exit_code is not None else -1,
                error=session.error,
                recording_parts=recorder.parts if recorder else 0,
                recording_bytes=recorder.bytes if recorder else 0,
                recording_lost=recorder.lost if recorder else 0,
            )
        try:
            with self.stores.mongo.breaker.guard():
                await self.stores.mongo.collection("terminal_sessions").update_one(
                    {"_id": PydanticObjectId(session.id)}, {"$set": fields}
                )
        except Exception:  # the session goes on; its record catches up at the next change
            logger.warning("session record not updated", exc_info=True)
        if state in ("closed", "failed"):
            self._ended.append(session.id)
            self._wake()

    def _wake(self) -> None:
        if self._work is not None:
            self._work.set()

    async def tidy(self) -> None:
        """The janitor's loop: drop ended sessions from the supervisor, store commands."""
        while True:
            self._work = anyio.Event()
            while self._ended:
                session_id = self._ended.popleft()
                session = self.sessions.pop(session_id, None)
                self.recorders.pop(session_id, None)
                self.logs.pop(session_id, None)
                self.indexed.pop(session_id, None)
                if session is not None:
                    await self.supervisor.terminate_child(session.name)
            while self._commands:
                await self._store_command(*self._commands.popleft())
            await self._work.wait()

    async def _store_command(
        self, session_id: str, owner_id: str, host: str, command: Command
    ) -> None:
        entry = TerminalCommand(
            session_id=session_id,
            owner_id=owner_id,
            host=host,
            cwd=command.cwd,
            command=command.command,
            exit_code=command.exit_code,
            started_at=command.started_at,
            ended_at=command.ended_at or time.time(),
            output=command.output,
        )
        try:
            with self.stores.mongo.breaker.guard():
                await entry.insert()
        except Exception:
            logger.warning("command not stored", exc_info=True)
        indexed = self.indexed.get(session_id)
        if indexed is not None and self.library is not None:
            try:
                await learn(self.library, session_id, host, command, *indexed)
            except Exception:
                logger.warning("command not indexed", exc_info=True)

    # -- reading -------------------------------------------------------------------------

    async def record(self, principal: Principal, session_id: str) -> TerminalSessionRecord:
        """The session's record, or NotFound when the caller may not see it."""
        found = None
        if PydanticObjectId.is_valid(session_id):
            with self.stores.mongo.breaker.guard():
                found = await TerminalSessionRecord.get(PydanticObjectId(session_id))
        if found is None or not (
            principal.is_admin
            or found.owner_id == principal.user_id
            or principal.user_id in found.shared_with
        ):
            raise NotFound("no such terminal session")
        return found

    def last_command(self, session_id: str) -> Command | None:
        log = self.logs.get(session_id)
        return log.last if log else None

    def live(self, session_id: str) -> TerminalSession:
        session = self.sessions.get(session_id)
        if session is None or session.ended.is_set():
            raise NotFound("the terminal session has ended or runs in another process")
        return session

    async def find(
        self, principal: Principal, *, everyone: bool, status: str | None, offset: int, limit: int
    ) -> tuple[list[TerminalSessionRecord], int]:
        query: dict[str, Any] = {}
        if not (everyone and principal.is_admin):
            query["$or"] = [{"owner_id": principal.user_id}, {"shared_with": principal.user_id}]
        if status:
            query["status"] = status
        with self.stores.mongo.breaker.guard():
            found = TerminalSessionRecord.find(query)
            total = await found.count()
            items = await found.sort("-created_at").skip(offset).limit(limit).to_list()
        return items, total

    async def _owned(
        self, principal: Principal, session_id: str, what: str
    ) -> TerminalSessionRecord:
        """The record, for its owner or an administrator (a viewer it is shared with: 403)."""
        record = await self.record(principal, session_id)
        if record.owner_id != principal.user_id and not principal.is_admin:
            raise Forbidden(f"only the session's owner may {what} it")
        return record

    async def change(
        self, principal: Principal, session_id: str, fields: dict[str, Any]
    ) -> TerminalSessionRecord:
        record = await self._owned(principal, session_id, "change")
        if "index_commands" in fields:
            if fields["index_commands"]:
                self.indexed[session_id] = (principal, record.created_at)
            else:
                self.indexed.pop(session_id, None)
        if "cols" in fields or "rows" in fields:
            cols, rows = fields.pop("cols", record.cols), fields.pop("rows", record.rows)
            self.live(session_id).resize(None, cols, rows)
            record.cols, record.rows = cols, rows
        for name, value in fields.items():
            setattr(record, name, value)
        record.updated_at = time.time()
        with self.stores.mongo.breaker.guard():
            await record.save()
        return record

    async def drain(self, deadline: float) -> None:
        """End every session and tell its viewers, before the server closes their sockets."""
        sessions = list(self.sessions.values())
        for session in sessions:
            session.error = session.error or "server shutting down"
            session.request_stop()
        with anyio.move_on_after(deadline):
            for session in sessions:
                await session.ended.wait()
            # The exit status follows the last output on each socket.
            while any(not v.closed and not v.told_end for s in sessions for v in s.viewers):  # noqa: ASYNC110
                await anyio.sleep(0.02)  # polled once, at shutdown

    async def terminate(self, principal: Principal, session_id: str) -> None:
        await self._owned(principal, session_id, "end")
        session = self.sessions.get(session_id)
        if session is not None:
            session.error = session.error or "terminated"
            session.request_stop()
            with anyio.move_on_after(10):
                await session.ended.wait()

    # -- tickets -------------------------------------------------------------------------

    async def ticket(self, principal: Principal, session_id: str, role: Role) -> tuple[str, Ticket]:
        record = await self.record(principal, session_id)
        self.live(session_id)
        if role == "driver" and record.owner_id != principal.user_id:
            role = "observer"  # shared with you, or you are an administrator: watch only
        now = time.monotonic()
        self.tickets = {k: t for k, t in self.tickets.items() if t.expires > now}
        ticket = Ticket(session_id, principal, role, now + TICKET_SECONDS)
        # The owner's address leads the ticket, so a proxy can route the stream here
        # without asking anyone; '_' never occurs in a host name or port.
        host, _, port = self.node.rpartition(":")
        token = f"{host}_{port}_{secrets.token_hex(16)}"
        self.tickets[token] = ticket
        return token, ticket

    def redeem(self, token: str, session_id: str) -> Ticket:
        """A ticket is good once, for its session, for TICKET_SECONDS."""
        ticket = self.tickets.pop(token, None)
        if ticket is None or ticket.expires < time.monotonic() or ticket.session_id != session_id:
            raise Unauthorized("the ticket is unknown, used or expired; ask for a new one")
        return ticket

    # -- recordings ----------------------------------------------------------------------

    async def recording(self, principal: Principal, session_id: str) -> AsyncIterator[bytes]:
        await self.record(principal, session_id)
        recorder = self.recorders.get(session_id)
        if recorder is not None:
            await recorder.flush()
        prefix = f"recordings/{session_id}/"
        for key in await self.stores.objects.keys(prefix):
            yield await self.stores.objects.read(key)


def sandbox_config(settings: Settings) -> Config:
    """What every local shell is kept from, and within."""
    hidden = [
        settings.data_dir,
        settings.homes_dir,  # the others' homes; each shell gets its own
        Path.home(),
        Path.cwd() / ".env",
        Path("/run/secrets"),  # Docker's and Swarm's secrets
        *(p for p in (settings.jwt_private_key_file, settings.jwt_public_key_file) if p),
        *settings.terminal_hide,
    ]
    limits = Limits(
        processes=settings.terminal_max_processes,
        open_files=settings.terminal_max_files,
        memory_bytes=settings.terminal_memory,
        cpu_seconds=settings.terminal_cpu_seconds,
        tmp_bytes=settings.terminal_tmp_size,
        nice=settings.terminal_nice,
    )
    low, high = settings.terminal_uid_range
    return Config(
        uids=range(low, high + 1) if os.geteuid() == 0 else None,
        homes=settings.homes_dir,
        hide=tuple(dict.fromkeys(p.absolute() for p in hidden)),
        network=settings.terminal_network == "host",
        limits=limits,
        bwrap=settings.terminal_bwrap,
        bash_rc=BASH_INTEGRATION.encode(),
    )


def readable_by_others(paths: Iterable[Path]) -> list[Path]:
    """Those of `paths` (and, in a directory anyone may enter, its entries) that any
    uid may read."""
    found = []
    for path in paths:
        try:
            mode = path.stat().st_mode
            entries = list(path.iterdir()) if path.is_dir() and mode & 0o001 else []
        except OSError:
            continue
        if mode & 0o004:
            found.append(path)
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.stat().st_mode & 0o004:
                    found.append(entry)
    return found
