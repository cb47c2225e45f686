"""SSH servers on loopback for the tests: asyncssh with a small shell, and OpenSSH's sshd."""

from __future__ import annotations

import os
import subprocess
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import asyncssh

from .servers import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

USER = "alice"
PASSWORD = "wonderland-Passw0rd"
PROMPT = "alice@testhost:~$ "


@dataclass(frozen=True)
class SshServer:
    port: int
    host_public_key: str
    client_key: str  # OpenSSH private key, no passphrase
    locked_key: str  # OpenSSH private key with PASSPHRASE
    passphrase: str = "open-sesame"


async def _shell(process: asyncssh.SSHServerProcess[str]) -> None:
    """A line shell: `echo WORDS`, `exit N`; it echoes what is typed, as a terminal would."""
    line = ""
    process.stdout.write(PROMPT)
    while True:
        try:
            data = await process.stdin.read(1024)
        except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
            continue
        if not data:
            break
        for char in data:
            if char in "\r\n":
                process.stdout.write("\r\n")
                command, line = line.strip(), ""
                if command.startswith("exit"):
                    parts = command.split()
                    process.exit(int(parts[1]) if len(parts) > 1 else 0)
                    return
                if command.startswith("echo "):
                    process.stdout.write(command[5:] + "\r\n")
                elif command == "size":
                    cols, rows, _, _ = process.term_size
                    process.stdout.write(f"{rows} {cols}\r\n")
                process.stdout.write(PROMPT)
            elif char == "\x7f":
                line = line[:-1]
                process.stdout.write("\b \b")
            else:
                line += char
                process.stdout.write(char)
    process.exit(0)


class _Server(asyncssh.SSHServer):
    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


class _Stalling(_Server):
    """Logs in, then never opens the session a shell needs."""

    def session_requested(self) -> Any:
        return anyio.sleep_forever()


def _described(
    port: int, host: asyncssh.SSHKey, plain: asyncssh.SSHKey, locked: asyncssh.SSHKey
) -> SshServer:
    return SshServer(
        port,
        host.export_public_key().decode().strip(),
        plain.export_private_key().decode(),
        locked.export_private_key(passphrase="open-sesame").decode(),
    )


def _keys() -> tuple[asyncssh.SSHKey, asyncssh.SSHKey]:
    return asyncssh.generate_private_key("ssh-ed25519"), asyncssh.generate_private_key(
        "ssh-ed25519"
    )


@asynccontextmanager
async def stalling_asyncssh_server() -> AsyncIterator[SshServer]:
    """The asyncssh server, but a shell never opens: logging in works, then nothing."""
    async with asyncssh_server(_Stalling, shell=False) as server:
        yield server


@asynccontextmanager
async def asyncssh_server(
    kind: type[_Server] = _Server, *, shell: bool = True
) -> AsyncIterator[SshServer]:
    host = asyncssh.generate_private_key("ssh-ed25519")
    plain, locked = _keys()
    authorized = asyncssh.import_authorized_keys(
        "".join(k.export_public_key().decode() for k in (plain, locked))
    )
    port = free_port()
    acceptor = await asyncssh.create_server(
        kind,
        "127.0.0.1",
        port,
        server_host_keys=[host],
        authorized_client_keys=authorized,
        process_factory=_shell if shell else None,  # else the server's session_requested
        line_editor=False,
        encoding="utf-8",
    )
    try:
        yield _described(port, host, plain, locked)
    finally:
        acceptor.close()
        await acceptor.wait_closed()


def _prepare_sshd(
    sshd: Path, root: Path, port: int
) -> tuple[Path, asyncssh.SSHKey, asyncssh.SSHKey, asyncssh.SSHKey]:
    assert sshd.exists(), "OpenSSH's sshd is missing: make test installs openssh-server"
    root.mkdir(parents=True, exist_ok=True)
    host = asyncssh.generate_private_key("ssh-ed25519")
    plain, locked = _keys()
    (root / "host_key").write_bytes(host.export_private_key())
    (root / "host_key").chmod(0o600)
    (root / "authorized_keys").write_bytes(b"".join(k.export_public_key() for k in (plain, locked)))
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_key'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPidFile {root / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege separation directory
    return config, host, plain, locked


@asynccontextmanager
async def openssh_server(root: Path) -> AsyncIterator[SshServer]:
    """OpenSSH's sshd on a loopback port, taking the two client keys for the current user."""
    sshd = Path("/usr/sbin/sshd")
    port = free_port()
    config, host, plain, locked = _prepare_sshd(sshd, root, port)
    process = await anyio.open_process(
        [str(sshd), "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with anyio.fail_after(10):
            while True:
                try:
                    stream = await anyio.connect_tcp("127.0.0.1", port)
                    await stream.aclose()
                    break
                except OSError:
                    assert process.returncode is None, "sshd exited"
                    await anyio.sleep(0.05)
        yield _described(port, host, plain, locked)
    finally:
        with anyio.CancelScope(shield=True):
            process.terminate()
            with anyio.move_on_after(5):
                await process.wait()
            await process.aclose()


def current_user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name
