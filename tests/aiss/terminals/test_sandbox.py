"""Escapes tried from real sandboxed shells of a real `aiss serve`, in the browser's
protocol and through OpenSSH's client, on each backend that runs here (as root)."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from terminal.processes import reap, snapshot

from ...servers import aiss_serve, free_port
from ..gateway.test_gateway import prompt, ssh
from ..routes.conftest import ADMIN_PASSWORD, STRONG, Api
from ..routes.terminal_client import Term, attached, open_local
from ..routes.test_documents import user
from ..routes.test_terminal import processes_matching

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from anyio.abc import Process

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(os.geteuid() != 0, reason="the uid backend and uid drops need root"),
]
MARKER = "sk-never-seen-in-a-shell-" + secrets.token_hex(8)


@dataclass
class Server:
    api: Api
    process: Process
    data: Path
    homes: Path
    ssh_port: int
    backend: str


def serve_env(data: Path, backend: str, ssh_port: int, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(data.parent),  # the server's home: hidden too
        "AISS_DATA_DIR": str(data),
        "AISS_ENV_FILE": "",
        "ADMIN_INITIAL_PASSWORD": ADMIN_PASSWORD,
        "AISS_ARGON2_TIME_COST": "1",
        "AISS_ARGON2_MEMORY": "8MiB",
        "AISS_LOGIN_RATE_LIMIT": "10000/1m",
        "AISS_SSH_PORT": str(ssh_port),
        "AISS_TERMINAL_SANDBOX": backend,
        "AISS_LOG_FORMAT": "text",
        "OPENAI_API_KEY": MARKER,  # in the server's environment, never a shell's
        **extra,
    }


@pytest.fixture(scope="module", params=["bwrap", "uid"])
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    data = tmp_path_factory.mktemp("sandboxed") / "data"
    port = free_port()
    async with aiss_serve(serve_env(data, request.param, port)) as (process, http):
        api = Api(http)
        found = (await api.call("GET", "/terminal/capabilities", await api.token())).json()
        assert found["sandbox"] == request.param, found
        ready = (await http.get("/ready")).json()
        assert ready["details"]["terminal_sandbox"] == request.param
        yield Server(api, process, data, Path("/var/lib/aiss/homes"), port, request.param)


def escapes(server: Server, other_home: Path) -> str:
    """One shell line trying every way out; each prints `R:name:exit status`."""
    d, pid = server.data, server.process.pid
    tries = {
        "jwt": f"cat {d}/jwt_secret",
        "sealing": f"cat {d}/encryption_key",
        "s3": f"cat {d}/s3/credentials.json",
        "mongo": f"ls {d}/mongo",
        "data": f"ls {d}",
        "environ": f"cat /proc/{pid}/environ",
        "signal": f"kill -0 {pid}",
        "other": f"cat {other_home}/secret.txt",
        "others": f"ls {server.homes}",
        "w_usr": "touch /usr/aiss-x",
        "w_etc": "touch /etc/aiss-x",
        "w_root": "touch /aiss-x",
        "w_var": "touch /var/lib/aiss-x",
        "w_data": f"touch {d}/aiss-x",
        "w_homes": f"touch {server.homes}/aiss-x",
        "w_dev": "touch /dev/aiss-x",
        "env": "env | grep -q sk-never-seen",
    }
    line = "; ".join(f"{cmd} 2>&1 </dev/null; echo R:{name}:$?" for name, cmd in tries.items())
    return line + (
        "; touch ~/own-x /tmp/own-x-$$-$RANDOM; echo R:own:$?; echo R:uid:$(id -u)"
        # Nothing inherited: the terminal, and bash's own copy of it (255).
        "; ls /proc/$$/fd > ~/fds; test \"$(tr '\\n' ' ' < ~/fds)\" = '0 1 2 255 '"
        "; echo R:fds:$?"
    )


def results(output: str) -> dict[str, str]:
    return dict(re.findall(r"R:(\w+):(\d+)", output))


def secrets_of(server: Server) -> list[str]:
    found = [MARKER]
    for name in ("jwt_secret", "encryption_key"):
        found.append((server.data / name).read_text().strip())
    found.append(json.loads((server.data / "s3" / "credentials.json").read_text())["secret_key"])
    return found


def assert_contained(server: Server, output: str, *, admin: bool) -> None:
    got = results(output)
    failed = {k: v for k, v in got.items() if k not in ("own", "uid", "fds") and v == "0"}
    assert len(got) == 20 and not failed, (failed, output[-3000:])
    assert got["own"] == "0" and got["fds"] == "0", output[-2000:]
    assert got["uid"] not in ("0", str(os.getuid())), got
    for secret in secrets_of(server):
        assert secret not in output
    assert "bob-only" not in output


async def bob_with_a_file(server: Server) -> Path:
    """Another user's home, with a file in it."""
    api = server.api
    bob, token = await user(api, await api.token())
    session = await open_local(api, token)
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        await term.type(b"echo bob-only > ~/secret.txt; echo wrote-$?\r")
        await term.expect(rb"wrote-0")
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)
    home = server.homes / str(bob["id"])
    assert (home / "secret.txt").read_text() == "bob-only\n"
    return home


async def run_in(term: Term, line: str) -> str:
    """The output of `line` (and of the prompt after what ran before)."""
    await term.status("replay-end")
    term.output.clear()
    await term.type(line.encode() + b"; echo ALL-$((40+2))\r")
    await term.expect(rb"ALL-42", seconds=30)
    return term.output.decode(errors="replace")


async def test_a_users_shell_reaches_nothing_of_the_server_or_others(server: Server) -> None:
    api = server.api
    other = await bob_with_a_file(server)
    for admin in (False, True):
        token = await api.token() if admin else (await user(api, await api.token()))[1]
        session = await open_local(api, token)
        assert session["target"]["sandbox"] == server.backend
        async with attached(api, token, session["id"]) as term:
            output = await run_in(term, escapes(server, other))
        assert_contained(server, output, admin=admin)
        await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)


async def test_the_same_through_openssh(server: Server, tmp_path: Path) -> None:
    other = await bob_with_a_file(server)
    person, _ = await user(server.api, await server.api.token())
    async with ssh(tmp_path, server.ssh_port, person["username"]) as client:
        await client.expect(rb"[Pp]assword:")
        await client.type(STRONG.encode() + b"\r")
        await prompt(client)
        await client.type(escapes(server, other).encode() + b"; echo ALL-$((40+2))\r")
        await client.expect(rb"ALL-42", seconds=30)
        output = client.screen.decode(errors="replace")
        await client.type(b"exit\r")
    assert_contained(server, output, admin=False)


# Run inside a shell: every listening socket it can see is asked for a MongoDB
# `hello`, the one question the embedded wire server answers without credentials.
WIRE_PROBE = r"""
import socket, struct
def bson(items):
    body = b""
    for key, value in items:
        if isinstance(value, int):
            body += b"\x10" + key.encode() + b"\x00" + struct.pack("<i", value)
        else:
            raw = value.encode() + b"\x00"
            body += b"\x02" + key.encode() + b"\x00" + struct.pack("<i", len(raw)) + raw
    return struct.pack("<i", len(body) + 5) + body + b"\x00"
doc = bson([("hello", 1), ("$db", "admin")])
msg = struct.pack("<I", 0) + b"\x00" + doc
hello = struct.pack("<iiii", 16 + len(msg), 1, 0, 2013) + msg
targets = []
for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
    try:
        lines = open(f"/proc/net/{name}").read().splitlines()[1:]
    except OSError:
        continue
    for line in lines:
        fields = line.split()
        if fields[3] == "0A":
            port = int(fields[1].rsplit(":", 1)[1], 16)
            host = "127.0.0.1" if family == socket.AF_INET else "::1"
            targets.append((family, (host, port)))
for line in open("/proc/net/unix").read().splitlines()[1:]:
    fields = line.split()
    if len(fields) > 7 and fields[7].startswith("/"):
        targets.append((socket.AF_UNIX, fields[7]))
print("TARGETS", len(targets))
for family, address in targets:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(address)
            s.sendall(hello)
            if b"maxWireVersion" in s.recv(65536):
                print("ANSWERED", address)
    except OSError:
        pass
print("PROBED")
"""


async def test_no_local_store_answers_a_shell(server: Server) -> None:
    """The embedded MongoDB takes no credentials: no shell may reach it at all."""
    api = server.api
    person, token = await user(api, await api.token())
    session = await open_local(api, token)
    async with attached(api, token, session["id"]) as term:
        await run_in(term, "true")  # the shell runs, so its home is there
        (server.homes / str(person["id"]) / "probe.py").write_text(WIRE_PROBE)
        output = await run_in(term, "python3 ~/probe.py")
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)
    assert "PROBED" in output, output[-2000:]
    assert "ANSWERED" not in output, output[-2000:]


def zombies_of(pid: int) -> list[int]:
    return [p.pid for p in snapshot() if p.zombie and p.ppid == pid]


async def test_ended_orphans_are_reaped_while_and_after_a_session_runs(server: Server) -> None:
    api = server.api
    _, token = await user(api, await api.token())
    session = await open_local(api, token)
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        await term.type(b"for i in $(seq 60); do (sleep 0.01 &); done; echo z-$((1+1))\r")
        await term.expect(rb"z-2")
        with anyio.fail_after(10):  # a process slot each, for good, if none reaps them
            while zombies_of(server.process.pid):
                await anyio.sleep(0.1)
        await term.type(b"sleep 0.2 & wait; echo forks-$((2+2))\r")
        await term.expect(rb"forks-4")
    await api.call("DELETE", f"/terminal/sessions/{session['id']}", token)
    with anyio.fail_after(5):
        while zombies_of(server.process.pid):
            await anyio.sleep(0.1)


# A job detached with setsid and nohup, a double-forked daemon, one deaf to HUP and TERM.
STUBBORN = (
    "setsid nohup sleep 5151 >/dev/null 2>&1 & "
    "(setsid sh -c 'sleep 5252 & exit' &) ; "
    "(trap '' HUP TERM; exec sleep 5353) & "
    "echo spawned-$((1+1))"
)
STUBBORN_MARKS = ("sleep\x005151", "sleep\x005252", "sleep\x005353")


async def stubborn(api: Api, token: str) -> tuple[str, list[int]]:
    session = await open_local(api, token)
    async with attached(api, token, session["id"]) as term:
        await term.status("replay-end")
        await term.type(STUBBORN.encode() + b"\r")
        await term.expect(rb"spawned-2")
        with anyio.fail_after(10):
            while len(pids := [p for m in STUBBORN_MARKS for p in processes_matching(m)]) < 3:
                await anyio.sleep(0.05)
    return session["id"], pids


async def gone_within(pids: list[int], seconds: float) -> None:
    with anyio.move_on_after(seconds):  # not even a zombie
        while [p for p in snapshot() if p.pid in pids]:
            # This process may be a subreaper too (the in-process servers make it one):
            # orphans of a server killed outright come here, and are this test's to reap.
            reap(pids)
            await anyio.sleep(0.05)
    left = [p for p in snapshot() if p.pid in pids]
    assert not left, left


async def test_ending_a_session_ends_every_process_it_started(server: Server) -> None:
    api = server.api
    _, token = await user(api, await api.token())
    session_id, pids = await stubborn(api, token)
    started = time.monotonic()
    assert (await api.call("DELETE", f"/terminal/sessions/{session_id}", token)).status_code == 204
    await gone_within(pids, 2.0 - (time.monotonic() - started))


async def test_the_users_other_shells_live_on(server: Server) -> None:
    api = server.api
    _, token = await user(api, await api.token())
    keep = await open_local(api, token)
    session_id, _ = await stubborn(api, token)
    await api.call("DELETE", f"/terminal/sessions/{session_id}", token)
    async with attached(api, token, keep["id"]) as term:
        await term.status("replay-end")
        await term.type(b"echo still-$((2+3))\r")
        await term.expect(rb"still-5")
    await api.call("DELETE", f"/terminal/sessions/{keep['id']}", token)


async def test_files_in_the_home_persist_for_their_user_alone(server: Server) -> None:
    api = server.api
    alice, alice_token = await user(api, await api.token())
    _, bob_token = await user(api, await api.token())
    first = await open_local(api, alice_token)
    async with attached(api, alice_token, first["id"]) as term:
        await term.status("replay-end")
        await term.type(b"echo kept-$((6*7)) > ~/notes.txt; echo saved-$((1+1))\r")
        await term.expect(rb"saved-2")  # the output, not the echoed command line
    await api.call("DELETE", f"/terminal/sessions/{first['id']}", alice_token)
    again = await open_local(api, alice_token)
    async with attached(api, alice_token, again["id"]) as term:
        await term.status("replay-end")
        await term.type(b"cat ~/notes.txt\r")
        await term.expect(rb"kept-42")
    await api.call("DELETE", f"/terminal/sessions/{again['id']}", alice_token)
    theirs = await open_local(api, bob_token)
    async with attached(api, bob_token, theirs["id"]) as term:
        host_path = server.homes / alice["id"] / "notes.txt"
        line = f"cat ~/notes.txt {host_path} /home/*/notes.txt 2>&1; echo R:read:$?"
        output = await run_in(term, line)
    assert "kept-42" not in output and results(output)["read"] != "0"
    await api.call("DELETE", f"/terminal/sessions/{theirs['id']}", bob_token)


async def health_latencies(http: httpx.AsyncClient, seconds: float) -> list[float]:
    latencies = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        start = time.perf_counter()
        assert (await http.get("/health")).status_code == 200
        latencies.append(time.perf_counter() - start)
        await anyio.sleep(0.01)
    return latencies


def uid_processes(uid: int) -> int:
    return sum(1 for p in snapshot() if p.uid == uid and not p.zombie)


async def test_a_fork_bomb_stays_in_its_box(server: Server) -> None:
    api = server.api
    bomber, bomb_token = await user(api, await api.token())
    _, calm_token = await user(api, await api.token())
    calm = await open_local(api, calm_token)
    bomb = await open_local(api, bomb_token)
    async with (
        attached(api, bomb_token, bomb["id"]) as bomber_term,
        attached(api, calm_token, calm["id"]) as calm_term,
    ):
        await run_in(bomber_term, "true")  # the shell runs, so its home is there
        await calm_term.status("replay-end")
        uid = (server.homes / bomber["id"]).stat().st_uid
        await bomber_term.type(b":(){ :|:& };:\r")
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, uid_processes(uid))
                await bomber_term.pump(0.05)  # its output flows, acknowledged

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            await anyio.sleep(1.0)  # the bomb is at its limit by now
            latencies = await health_latencies(api.http, 8.0)
            for n in range(3):
                await calm_term.type(f"echo calm-{n}-$((1+1))\r".encode())
                await calm_term.expect(f"calm-{n}-2".encode(), seconds=10)
            tg.cancel_scope.cancel()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    assert p99 < 0.100, f"/health p99 {p99 * 1000:.0f} ms under a fork bomb"
    assert 0 < peak <= 256 + 8, peak  # its limit, and a few processes of the sandbox itself
    started = time.monotonic()
    await api.call("DELETE", f"/terminal/sessions/{bomb['id']}", bomb_token)
    with anyio.fail_after(10):
        while uid_processes(uid):
            await anyio.sleep(0.05)
    assert time.monotonic() - started < 5
    await api.call("DELETE", f"/terminal/sessions/{calm['id']}", calm_token)


async def test_stopping_the_server_ends_every_shells_processes(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    for backend in ("bwrap", "uid"):
        data = tmp_path_factory.mktemp("stopped") / "data"
        async with aiss_serve(serve_env(data, backend, 0)) as (process, http):
            api = Api(http)
            _, token = await user(api, await api.token())
            _, pids = await stubborn(api, token)
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):
                await process.wait()
            await gone_within(pids, 2.0)


async def test_a_crashed_servers_shells_do_not_outlive_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """SIGKILL leaves no chance to clean up: bubblewrap's shells die with their parent;
    the uid backend's are ended by the next start, from their cgroups."""
    for backend in ("bwrap", "uid"):
        data = tmp_path_factory.mktemp("crashed") / "data"
        async with aiss_serve(serve_env(data, backend, 0)) as (process, http):
            api = Api(http)
            _, token = await user(api, await api.token())
            _, pids = await stubborn(api, token)
            process.kill()
            await process.wait()
        if backend == "uid":
            async with aiss_serve(serve_env(data, backend, 0)):
                await gone_within(pids, 2.0)
        else:
            await gone_within(pids, 2.0)
