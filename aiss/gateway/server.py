"""The SSH gateway: `ssh -p 2222 you@host` opens, lists and attaches terminal sessions.

Users log in with their AISS password (limited like the HTTP login) or a
public key registered at /users/me/ssh-keys. A shell request opens a new
local session, the same session (record, recording, command log) a browser
opens; `attach ID [--observe]` joins one; `ls` lists them. The host key is
generated once into the data dir.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
from typing import TYPE_CHECKING, Any

import anyio
import asyncssh

from actors import Service, Strategy, Supervisor

from ..errors import AissError
from ..terminals.manager import LocalTarget
from ..tree import supervisor
from ..users.messages import GatewayKey, GatewayLogin, LoginStart
from .bridge import ssh_bridge

if TYPE_CHECKING:
    from anyio.abc import TaskStatus

    from terminal.session import Role

    from ..config import Settings
    from ..rag.answer import Answerer
    from ..terminals.manager import Terminals
    from ..users.service import Users
    from ..users.views import Principal

logger = logging.getLogger("aiss.ssh")
USAGE = "usage: ssh -p PORT you@host [ls | attach SESSION_ID [--observe]]\r\n"


class SshGateway(Service):
    def __init__(self, settings: Settings, users: Users, terminals: Terminals) -> None:
        super().__init__("ssh")
        self.settings = settings
        self.users = users
        self.terminals = terminals
        self.answerer: Answerer | None = None  # set by the lifespan once built
        self.port: int | None = None
        self.principals: dict[object, Principal] = {}

    def host_key(self) -> asyncssh.SSHKey:
        """Generated on first start, then kept (readable by the owner only)."""
        path = self.settings.data_dir / "ssh" / "ssh_host_ed25519_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = asyncssh.generate_private_key("ssh-ed25519")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(key.export_private_key())
        return asyncssh.read_private_key(str(path))

    async def serve(self, task_status: TaskStatus[None], stop: anyio.Event) -> None:
        key = await anyio.to_thread.run_sync(self.host_key)
        acceptor = await asyncssh.create_server(
            lambda: _Connection(self),
            self.settings.host,
            self.settings.ssh_port,
            server_host_keys=[key],
            process_factory=self._process,
            line_editor=False,
            encoding=None,
            keepalive_interval=30,
            login_timeout=60,
        )
        try:
            self.port = int(acceptor.sockets[0].getsockname()[1])
            logger.info("ssh gateway listening", extra={"port": self.port})
            task_status.started()
            await stop.wait()
        finally:
            acceptor.close()
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await acceptor.wait_closed()

    async def _process(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        connection = process.channel.get_connection()
        principal = self.principals.get(connection)
        try:
            if principal is None:  # pragma: no cover - asyncssh authenticates first
                process.exit(1)
                return
            await self._run(process, principal)
        except Exception:
            logger.exception("ssh gateway session failed")
            with contextlib.suppress(Exception):
                process.exit(1)

    async def _run(self, process: asyncssh.SSHServerProcess[bytes], principal: Principal) -> None:
        wanted = parse_command(process.command or "")
        if wanted is None:
            process.stderr.write(USAGE.encode())
            process.exit(2)
            return
        action, target, observe = wanted
        if action == "ls":
            process.stdout.write(await self._listing(principal))
            process.exit(0)
            return
        if process.get_terminal_type() is None:
            process.stderr.write(b"a terminal is needed: use ssh -t\r\n")
            process.exit(1)
            return
        cols, rows, _, _ = process.get_terminal_size()
        try:
            if action == "attach":
                record = await self.terminals.record(principal, target)
                observe = observe or record.owner_id != principal.user_id
                role: Role = "observer" if observe else "driver"
            else:
                record = await self.terminals.open(
                    principal,
                    LocalTarget(None),
                    cols=cols or 80,
                    rows=rows or 24,
                    term=process.get_terminal_type() or "xterm-256color",
                    title="ssh",
                )
                role = "driver"
            session = self.terminals.live(str(record.id))
        except AissError as exc:
            process.stderr.write(f"aiss: {exc.message}\r\n".encode())
            process.exit(1)
            return
        if role == "driver" and (cols, rows) != (session.cols, session.rows) and cols and rows:
            session.resize(None, cols, rows)
        session_id = str(record.id)
        code = await ssh_bridge(
            process,
            session,
            principal,
            role,
            self.answerer,
            lambda: self.terminals.last_command(session_id),
        )
        if code is not None:
            process.exit(code)
        else:
            process.close()

    async def _listing(self, principal: Principal) -> bytes:
        items, _ = await self.terminals.find(
            principal, everyone=False, status=None, offset=0, limit=100
        )
        lines = [f"{'ID':<24}  {'STATUS':<10}  {'TARGET':<24}  TITLE"]
        for r in items:
            target = r.target.get("host") or r.target.get("shell") or r.target.get("type", "")
            lines.append(f"{r.id!s:<24}  {r.status:<10}  {str(target)[:24]:<24}  {r.title}")
        return ("\r\n".join(lines) + "\r\n").encode()


def parse_command(command: str) -> tuple[str, str, bool] | None:
    """(action, session id, observe) for "", "ls", "attach ID [--observe]"; None otherwise."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words:
        return ("shell", "", False)
    if words == ["ls"]:
        return ("ls", "", False)
    if words[0] == "attach" and len(words) == 2:
        return ("attach", words[1], False)
    if words[0] == "attach" and len(words) == 3 and words[2] == "--observe":
        return ("attach", words[1], True)
    return None


def build_gateway(
    settings: Settings, users: Users, terminals: Terminals
) -> tuple[Supervisor, SshGateway]:
    gateway = SshGateway(settings, users, terminals)
    return supervisor(settings, "ssh_gateway", [gateway], Strategy.ONE_FOR_ONE), gateway


class _Connection(asyncssh.SSHServer):
    def __init__(self, gateway: SshGateway) -> None:
        self.gateway = gateway
        self.connection: Any = None
        self.client = "unknown"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.connection = conn
        peer = conn.get_extra_info("peername")
        self.client = str(peer[0]) if peer else "unknown"

    def connection_lost(self, exc: Exception | None) -> None:
        self.gateway.principals.pop(self.connection, None)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        users = self.gateway.users
        try:
            ticket = await users.ref.ask(LoginStart(username, self.client))
            ok = await users.passwords.verify(ticket.password_hash or None, password)
            principal = await users.ref.ask(
                GatewayLogin(username, ticket.user_id if ok else "", self.client)
            )
        except AissError:
            return False
        self.gateway.principals[self.connection] = principal
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        try:
            principal = await self.gateway.users.ref.ask(
                GatewayKey(username, key.get_fingerprint("sha256"), self.client)
            )
        except AissError:
            return False
        self.gateway.principals[self.connection] = principal
        return True
