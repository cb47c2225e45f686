"""The SSH gateway driven by OpenSSH's `ssh` client in a real PTY."""

from __future__ import annotations

import os
import re
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import asyncssh
import pytest

from aiss.app import create_app
from aiss.gateway.server import parse_command
from aiss.storage.models import AuthEvent
from terminal.pty import LocalPty
from terminal.sandbox import plain

from ...servers import free_port, serving
from ..routes.conftest import STRONG, Api, app_settings
from ..routes.test_documents import ready, upload, user

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Api, int]]:
    port = free_port()
    settings = app_settings(tmp_path_factory.mktemp("app"), AISS_SSH_PORT=str(port))
    async with serving(create_app(settings)) as http:
        yield Api(http), port


class Ssh:
    """An `ssh` client on a PTY: what it shows, what it is typed, how it ends."""

    def __init__(self, pty: LocalPty) -> None:
        self.pty = pty
        self.screen = bytearray()

    async def expect(self, pattern: bytes, seconds: float = 15) -> re.Match[bytes]:
        with anyio.move_on_after(seconds):
            return await self._expect(pattern)
        raise AssertionError(f"no {pattern!r} in {bytes(self.screen)[-1500:]!r}")

    async def _expect(self, pattern: bytes) -> re.Match[bytes]:
        while True:
            found = re.search(pattern, bytes(self.screen))
            if found:
                return found
            data = await self.pty.read()
            if not data:
                raise AssertionError(f"ended before {pattern!r}: {bytes(self.screen)!r}")
            self.screen += data

    async def type(self, data: bytes) -> None:
        await self.pty.write(data)

    async def exit_code(self) -> int:
        with anyio.fail_after(15):
            while await self.pty.read():
                pass
            return await self.pty.wait()


@asynccontextmanager
async def ssh(
    home: Path, port: int, username: str, *command: str, key: Path | None = None
) -> AsyncIterator[Ssh]:
    options = [
        "-p", str(port),
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR",
        "-o", "NumberOfPasswordPrompts=1",
        "-o", "KbdInteractiveAuthentication=no",
        "-o", f"IdentitiesOnly={'yes' if key else 'no'}",
        "-o", f"PubkeyAuthentication={'yes' if key else 'no'}",
        "-o", f"PasswordAuthentication={'no' if key else 'yes'}",
    ]  # fmt: skip
    if key:
        options += ["-i", str(key)]
    argv = ["ssh", "-tt", *options, f"{username}@127.0.0.1", *command]
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "TERM": "xterm-256color"}
    pty = LocalPty.spawn(plain(argv, home), env=env, cols=80, rows=24)
    try:
        yield Ssh(pty)
    finally:
        await pty.terminate()


async def login(client: Ssh) -> None:
    await client.expect(rb"[Pp]assword:")
    await client.type(STRONG.encode() + b"\r")
    await prompt(client)


async def prompt(client: Ssh) -> None:
    """The shell's prompt: ssh has its terminal in raw mode by then (what is typed
    before may be flushed when it switches)."""
    await client.expect(rb"[#$] ")


async def test_password_login_opens_a_session_like_the_browser(
    gateway: tuple[Api, int], tmp_path: Path
) -> None:
    api, port = gateway
    person, token = await user(api, await api.token())
    async with ssh(tmp_path, port, person["username"]) as client:
        await login(client)
        await client.type(b"echo gw-$((40+2))\r")
        await client.expect(rb"gw-42")
        listed = (await api.call("GET", "/terminal/sessions", token)).json()["items"]
        assert [(s["title"], s["status"]) for s in listed] == [("ssh", "connected")]
        client.pty.resize(100, 30)  # the kernel tells ssh (SIGWINCH); ssh tells the gateway
        for attempt in range(20):  # the change travels on its own: ask until it has arrived
            await client.type(f"echo try-{attempt}-$((0+1)); stty size\r".encode())
            sizes = await client.expect(rf"try-{attempt}-1\r\n(\d+ \d+)".encode())
            if sizes.group(1) == b"30 100":
                break
            await anyio.sleep(0.2)
        assert sizes.group(1) == b"30 100"
        await client.type(b"exit 3\r")
        assert await client.exit_code() == 3
    record = (await api.call("GET", f"/terminal/sessions/{listed[0]['id']}", token)).json()
    assert record["status"] == "closed" and record["exit_code"] == 3


async def test_wrong_credentials_are_refused(gateway: tuple[Api, int], tmp_path: Path) -> None:
    api, port = gateway
    person, _ = await user(api, await api.token())
    async with ssh(tmp_path, port, person["username"]) as client:
        await client.expect(rb"[Pp]assword:")
        await client.type(b"not-the-password\r")
        await client.expect(rb"Permission denied")
        assert await client.exit_code() == 255
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "stranger"
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)
    async with ssh(tmp_path, port, person["username"], key=path) as client:
        await client.expect(rb"Permission denied")
        assert await client.exit_code() == 255


async def test_a_key_login_lists_and_attaches_from_a_second_client(
    gateway: tuple[Api, int], tmp_path: Path
) -> None:
    api, port = gateway
    person, token = await user(api, await api.token())
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / "id_ed25519"
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)
    added = await api.call(
        "POST",
        "/users/me/ssh-keys",
        token,
        json={"title": "laptop", "public_key": key.export_public_key().decode()},
    )
    assert added.status_code == 201, added.text
    async with ssh(tmp_path, port, person["username"], key=path) as first:
        await prompt(first)
        await first.type(b"echo first-$((2*3))\r")
        await first.expect(rb"first-6")
        session_id = (await api.call("GET", "/terminal/sessions", token)).json()["items"][0]["id"]
        async with ssh(tmp_path, port, person["username"], "ls", key=path) as listing:
            await listing.expect(session_id.encode() + rb"\s+connected")
            assert await listing.exit_code() == 0
        async with ssh(
            tmp_path, port, person["username"], "attach", session_id, key=path
        ) as second:
            await second.expect(rb"first-6")  # the scrollback, replayed
            await anyio.sleep(0.3)
            await second.type(b"echo second-$((3*3))\r")
            await second.expect(rb"second-9")
            await first.expect(rb"second-9")  # the same shell
        async with ssh(
            tmp_path, port, person["username"], "attach", session_id, "--observe", key=path
        ) as watcher:
            await watcher.expect(rb"second-9")
            await anyio.sleep(0.3)
            await watcher.type(b"echo sneaky\r")
            await watcher.expect(rb"read-only")
        await first.type(b"exit\r")
        assert await first.exit_code() == 0


async def test_query_mode_answers_on_the_screen_not_in_the_shell(
    gateway: tuple[Api, int], tmp_path: Path
) -> None:
    api, port = gateway
    person, token = await user(api, await api.token())
    fact = b"The staging database is restarted every Sunday at 03:00 by the ops rota."
    document = (await upload(api, token, fact, "ops.txt")).json()
    await ready(api, token, document["id"])
    async with ssh(tmp_path, port, person["username"]) as client:
        await login(client)
        await client.type(b"echo warmed-up\r")
        await client.expect(rb"warmed-up\r\n(?s:.*)[#$] ")  # the command is logged by now
        await client.type(b"\x1d?")
        await client.expect(rb"\[aiss\] ask: ")
        await client.type(b"When is the staging database restarted?\r")
        await client.expect(rb"attach your last command")
        await client.type(b"n")
        found = await client.expect(rb"Sources:\r\n  \[1\] ops\.txt")
        assert b"Sunday at 03:00" in client.screen[: found.start()]
        await client.type(b"echo after-$((5+5))\r")
        await client.expect(rb"after-10")
        await client.type(b"exit\r")
        await client.exit_code()
    commands = (await api.call("GET", "/terminal/commands", token)).json()["items"]
    typed = [c["command"] for c in commands]
    assert "echo after-$((5+5))" in typed and not any("staging" in c for c in typed)
    assert b"command not found" not in client.screen


async def test_the_host_key_stays_the_same(gateway: tuple[Api, int]) -> None:
    _, port = gateway
    first = await asyncssh.get_server_host_key("127.0.0.1", port)
    again = await asyncssh.get_server_host_key("127.0.0.1", port)
    assert first is not None and again is not None
    assert first.export_public_key() == again.export_public_key()


async def test_ssh_logins_are_limited_like_http_logins(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    port = free_port()
    settings = app_settings(
        tmp_path_factory.mktemp("limited"), AISS_SSH_PORT=str(port), AISS_LOGIN_RATE_LIMIT="6/1m"
    )
    async with serving(create_app(settings)) as http:
        api = Api(http)
        person, _ = await user(api, await api.token())

        async def attempt(password: str) -> bool:
            try:
                async with asyncssh.connect(
                    "127.0.0.1",
                    port,
                    username=person["username"],
                    password=password,
                    known_hosts=None,
                    client_keys=None,
                    preferred_auth="password",
                ):
                    return True
            except asyncssh.PermissionDenied:
                return False

        # Two HTTP logins made the user; the limit counts per client address too.
        assert not await attempt("wrong-1")
        assert not await attempt("wrong-2")
        assert await attempt(STRONG)  # the fifth attempt from here: allowed, and right
        for _ in range(3):
            await attempt("wrong-again")
        assert not await attempt(STRONG)  # over the limit: even the right password waits
        events = await AuthEvent.find(AuthEvent.kind == "login_limited").to_list()
        assert events


@pytest.mark.parametrize(
    ("command", "parsed"),
    [
        ("", ("shell", "", False)),
        ("ls", ("ls", "", False)),
        ("attach abc", ("attach", "abc", False)),
        ("attach abc --observe", ("attach", "abc", True)),
        ("attach", None),
        ("attach abc --drive", None),
        ("rm -rf /", None),
        ("attach 'unbalanced", None),
    ],
)
def test_gateway_commands(command: str, parsed: tuple[str, str, bool] | None) -> None:
    assert parse_command(command) == parsed
