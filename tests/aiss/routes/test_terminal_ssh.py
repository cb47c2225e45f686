"""SSH targets: host keys confirmed first, then password, key and passphrase logins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import pytest

from aiss.storage.models import SshCredential

from ...ssh_servers import PASSWORD, USER, asyncssh_server, current_user, openssh_server
from .terminal_client import attached
from .test_documents import user

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ...ssh_servers import SshServer
    from .conftest import Api

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def fake_sshd() -> AsyncIterator[SshServer]:
    async with asyncssh_server() as server:
        yield server


@pytest.fixture(scope="module")
async def sshd(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SshServer]:
    async with openssh_server(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def ssh(server: SshServer, **fields: Any) -> dict[str, Any]:
    return {"target": {"type": "ssh", "host": "127.0.0.1", "port": server.port, **fields}}


async def trust(api: Api, token: str, server: SshServer) -> None:
    added = await api.call(
        "POST",
        "/terminal/known-hosts",
        token,
        json={"host": "127.0.0.1", "port": server.port, "public_key": server.host_public_key},
    )
    assert added.status_code == 201, added.text


async def test_an_unknown_host_key_is_shown_then_trusted(api: Api, fake_sshd: SshServer) -> None:
    _, token = await user(api, await api.token())
    body = ssh(fake_sshd, username=USER, password=PASSWORD)
    refused = await api.call("POST", "/terminal/sessions", token, json=body)
    assert refused.status_code == 409, refused.text
    key = refused.json()
    assert key["error"] == "host_key_unknown" and key["port"] == fake_sshd.port
    assert key["key_type"] == "ssh-ed25519" and key["fingerprint_sha256"].startswith("SHA256:")
    added = await api.call(
        "POST",
        "/terminal/known-hosts",
        token,
        json={"host": key["host"], "port": key["port"], "public_key": key["public_key"]},
    )
    assert added.json()["fingerprint_sha256"] == key["fingerprint_sha256"]

    opened = await api.call("POST", "/terminal/sessions", token, json=body)
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert session["target"] == {
        "type": "ssh",
        "host": "127.0.0.1",
        "port": fake_sshd.port,
        "username": USER,
    }
    async with attached(api, token, session["id"]) as term:
        await term.expect(rb"alice@testhost:~\$ ")
        await term.resize(100, 30)
        await term.type(b"size\r")
        await term.expect(rb"30 100")
        await term.type(b"echo over-ssh\r")
        await term.expect(rb"over-ssh\r\n")
        await term.type(b"exit 3\r")
        assert (await term.status("exit"))["code"] == 3
    with anyio.fail_after(10):
        while True:
            logged = (
                await api.call("GET", "/terminal/commands", token, params={"q": "over-ssh"})
            ).json()["items"]
            if logged:
                break
            await anyio.sleep(0.1)
    assert logged[0]["command"] == "echo over-ssh" and logged[0]["host"] == "127.0.0.1"
    assert logged[0]["exit_code"] is None  # a prompt guess cannot know it


async def test_a_changed_host_key_is_refused(api: Api, fake_sshd: SshServer) -> None:
    _, token = await user(api, await api.token())
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmWL8nRXePEdT/HzFGyjh8ttDBsc6oycPzIVXsTM0FA"
    await api.call(
        "POST",
        "/terminal/known-hosts",
        token,
        json={"host": "127.0.0.1", "port": fake_sshd.port, "public_key": other},
    )
    body = ssh(fake_sshd, username=USER, password=PASSWORD)
    refused = await api.call("POST", "/terminal/sessions", token, json=body)
    assert refused.status_code == 409 and refused.json()["error"] == "host_key_changed"


async def test_wrong_credentials_and_saved_ones(api: Api, fake_sshd: SshServer) -> None:
    _, token = await user(api, await api.token())
    await trust(api, token, fake_sshd)
    wrong = ssh(fake_sshd, username=USER, password="not-it")
    refused = await api.call("POST", "/terminal/sessions", token, json=wrong)
    assert refused.status_code == 400 and "authentication failed" in refused.json()["message"]
    bare = ssh(fake_sshd, username=USER)
    missing = await api.call("POST", "/terminal/sessions", token, json=bare)
    assert missing.status_code == 422

    saved = ssh(fake_sshd, username=USER, password=PASSWORD, save_credentials=True)
    first = await api.call("POST", "/terminal/sessions", token, json=saved)
    assert first.status_code == 201, first.text
    stored = await SshCredential.find_one(SshCredential.username == USER)
    assert stored is not None and PASSWORD not in stored.model_dump_json()
    again = await api.call("POST", "/terminal/sessions", token, json=bare)
    assert again.status_code == 201, again.text
    for session in (first.json(), again.json()):
        await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_openssh_with_a_key_and_a_passphrase_protected_key(api: Api, sshd: SshServer) -> None:
    _, token = await user(api, await api.token())
    await trust(api, token, sshd)
    me = current_user()
    for fields in (
        {"private_key": sshd.client_key},
        {"private_key": sshd.locked_key, "passphrase": sshd.passphrase},
    ):
        opened = await api.call(
            "POST", "/terminal/sessions", token, json=ssh(sshd, username=me, **fields)
        )
        assert opened.status_code == 201, opened.text
        async with attached(api, token, opened.json()["id"]) as term:
            await term.type(b"echo sum-$((20+22))\n")
            await term.expect(rb"sum-42")
            await term.type(b"exit 5\n")
            assert (await term.status("exit"))["code"] == 5
    locked = ssh(sshd, username=me, private_key=sshd.locked_key)
    refused = await api.call("POST", "/terminal/sessions", token, json=locked)
    assert refused.status_code == 400 and "passphrase" in refused.json()["message"]


async def test_known_hosts_belong_to_their_user(api: Api, fake_sshd: SshServer) -> None:
    admin = await api.token()
    _, alice = await user(api, admin)
    _, bob = await user(api, admin)
    await trust(api, alice, fake_sshd)
    mine = (await api.call("GET", "/terminal/known-hosts", alice)).json()["items"]
    assert len(mine) == 1
    assert (await api.call("GET", "/terminal/known-hosts", bob)).json()["items"] == []
    key_id = mine[0]["id"]
    assert (await api.call("DELETE", f"/terminal/known-hosts/{key_id}", bob)).status_code == 404
    assert (await api.call("DELETE", f"/terminal/known-hosts/{key_id}", alice)).status_code == 204
    bad = {"host": "127.0.0.1", "port": 22, "public_key": "ssh-ed25519 !!!"}
    assert (await api.call("POST", "/terminal/known-hosts", alice, json=bad)).status_code == 422
