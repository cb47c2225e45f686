"""SSH targets through asyncssh: never connecting to a host whose key is not known.

`host_key` fetches the server's key without authenticating; it is compared
with the user's known hosts, and an unknown or changed key stops the
session before any credential is sent. The connection then trusts exactly
the stored key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import asyncssh

if TYPE_CHECKING:
    from collections.abc import Sequence

CONNECT_TIMEOUT = 15.0
KEEPALIVE = 30.0


@dataclass(frozen=True)
class HostKey:
    host: str
    port: int
    key_type: str
    public_key: str  # OpenSSH format: "<type> <base64>"

    @property
    def fingerprint_sha256(self) -> str:
        blob = base64.b64decode(self.public_key.split()[1])
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"


class HostKeyProblem(Exception):
    """The server's key is not one the user confirmed; `changed` when another was stored."""

    def __init__(self, key: HostKey, *, changed: bool) -> None:
        what = "changed" if changed else "unknown"
        super().__init__(f"the host key of {key.host}:{key.port} is {what}")
        self.key = key
        self.changed = changed


class SshFailed(Exception):
    """Connecting or authenticating failed; the message says why, without secrets."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)


async def host_key(host: str, port: int) -> HostKey:
    try:
        with anyio.fail_after(CONNECT_TIMEOUT):
            key = await asyncssh.get_server_host_key(host, port)
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        raise SshFailed(f"cannot reach {host}:{port}: {exc or type(exc).__name__}") from None
    if key is None:
        raise SshFailed(f"{host}:{port} offered no host key")
    return HostKey(host, port, key.get_algorithm(), key.export_public_key().decode().strip())


def verify(seen: HostKey, known: Sequence[HostKey]) -> None:
    """Raise HostKeyProblem unless `seen` is among the user's known keys for its host."""
    same_host = [k for k in known if k.host == seen.host and k.port == seen.port]
    if any(k.public_key.split()[:2] == seen.public_key.split()[:2] for k in same_host):
        return
    raise HostKeyProblem(seen, changed=any(k.key_type == seen.key_type for k in same_host))


def load_key(private_key: str, passphrase: str | None) -> asyncssh.SSHKey:
    try:
        return asyncssh.import_private_key(private_key, passphrase)
    except (asyncssh.KeyImportError, ValueError) as exc:
        hint = "" if passphrase else " (does it need a passphrase?)"
        raise SshFailed(f"the private key cannot be read: {exc}{hint}") from None


class SshProgram:
    """A remote shell on a PTY: the `Program` of an SSH session."""

    def __init__(
        self, connection: asyncssh.SSHClientConnection, process: asyncssh.SSHClientProcess[bytes]
    ) -> None:
        self.connection = connection
        self.process = process

    @classmethod
    async def open(
        cls,
        key: HostKey,
        credentials: Credentials,
        *,
        cols: int,
        rows: int,
        term: str,
    ) -> SshProgram:
        known = asyncssh.import_known_hosts(f"[{key.host}]:{key.port} {key.public_key}\n")
        options: dict[str, object] = {}
        if credentials.private_key:
            options["client_keys"] = [load_key(credentials.private_key, credentials.passphrase)]
        else:
            options["client_keys"] = None
        if credentials.password is not None:
            options["password"] = credentials.password
        try:
            with anyio.fail_after(CONNECT_TIMEOUT):
                connection = await asyncssh.connect(
                    key.host,
                    key.port,
                    username=credentials.username,
                    known_hosts=known,
                    server_host_key_algs=[key.key_type],
                    agent_path=None,
                    config=None,
                    keepalive_interval=KEEPALIVE,
                    keepalive_count_max=3,
                    **options,
                )
        except asyncssh.PermissionDenied:
            raise SshFailed(f"{credentials.username}@{key.host}: authentication failed") from None
        except asyncssh.HostKeyNotVerifiable:
            raise HostKeyProblem(key, changed=True) from None
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            raise SshFailed(f"cannot connect to {key.host}:{key.port}: {exc}") from None
        try:
            with anyio.fail_after(CONNECT_TIMEOUT):
                process = await connection.create_process(
                    term_type=term, term_size=(cols, rows), encoding=None
                )
        except (OSError, asyncssh.Error) as exc:
            connection.close()
            raise SshFailed(f"{key.host} refused a shell: {exc}") from None
        except TimeoutError:
            connection.close()
            raise SshFailed(f"{key.host} gave no shell within {CONNECT_TIMEOUT:g} s") from None
        except BaseException:  # cancelled: the session ended while the shell opened
            connection.close()
            raise
        return cls(connection, process)

    async def read(self) -> bytes:
        try:
            return await self.process.stdout.read(65536)
        except (OSError, asyncssh.Error):
            return b""

    def write_nowait(self, data: bytes) -> int:
        """Nothing: input to a channel goes through `write`, which waits for its window."""
        return 0

    async def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError, asyncssh.Error):
            self.process.stdin.write(data)
            await self.process.stdin.drain()

    def resize(self, cols: int, rows: int) -> None:
        with contextlib.suppress(OSError, asyncssh.Error):
            self.process.change_terminal_size(cols, rows)

    def output_pending(self) -> bool:
        return False  # the remote terminal's buffers are not visible

    def echoes(self) -> bool:
        return False  # the remote host echoes; the channel's window paces the input

    def echo_off(self) -> bool:
        return False  # not visible over SSH: input is never recorded for SSH targets

    async def wait(self) -> int:
        completed = await self.process.wait(check=False)
        if completed.exit_status is not None and completed.exit_status >= 0:
            return int(completed.exit_status)
        return 255 if completed.exit_signal is None else 128 + 15

    async def terminate(self) -> None:
        self.process.close()
        self.connection.close()
        with anyio.move_on_after(5):
            await self.connection.wait_closed()
