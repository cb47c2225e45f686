"""Roles apart (tests/roles.py): login, upload, ask and terminals through the
gateway, and through deploy/nginx.conf in front of it."""

from __future__ import annotations

import json
import ssl
import subprocess
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import asyncssh
import httpx
import pytest
from websockets.asyncio.client import connect

from aiss.tlscert import write as write_certificate
from terminal import frames
from tests.roles import ADMIN_PASSWORD, Layout, roles_running
from tests.servers import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


pytestmark = pytest.mark.anyio

FACT = "The Quillon ferry leaves pier 14 at 06:40 every weekday."


@pytest.fixture(scope="module")
async def roles(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Layout]:
    """Every role started, with a MongoDB wire server and an S3 server they reach over TCP."""
    async with roles_running(tmp_path_factory.mktemp("roles")) as started:
        yield started


async def until_ready(http: httpx.AsyncClient, document_id: str, headers: dict[str, str]) -> None:
    with anyio.fail_after(60):
        while True:
            doc = (await http.get(f"/api/v1/documents/{document_id}", headers=headers)).json()
            if doc["status"] == "ready":
                return
            assert doc["status"] not in ("failed",), doc
            await anyio.sleep(0.2)


@pytest.mark.timeout(300)
async def test_login_upload_ask_and_terminal_through_the_gateway(roles: Layout) -> None:
    urls = roles.urls
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=urls["gateway"], timeout=30)
        )
        login = await http.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

        # Unknown paths and bad input keep their JSON errors through the proxy.
        missing = await http.get("/api/v1/nowhere", headers=auth)
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
        bad = await http.post("/api/v1/search", headers=auth, json={"query": ""})
        assert bad.status_code == 422 and bad.json()["error"] == "validation_failed"

        uploaded = await http.post(
            "/api/v1/documents",
            headers=auth,
            data={"title": "Ferries"},
            files={"file": ("ferries.md", f"# Ferries\n\n{FACT}\n".encode())},
        )
        assert uploaded.status_code == 202, uploaded.text
        document_id = uploaded.json()["id"]
        await until_ready(http, document_id, auth)
        # The documents role loads no model: it embedded through the embedding role.
        async with httpx.AsyncClient() as direct:
            assert (
                "aiss_embedding_tokens"
                not in (await direct.get(f"{urls['documents']}/metrics")).text
            )
            embedding_metrics = (await direct.get(f"{urls['embedding']}/metrics")).text
            assert 'aiss_embedding_tokens_total{model="general"}' in embedding_metrics
            # Its internal endpoint wants a service token, and the gateway never routes it.
            internal = {"model": "general", "texts": ["x"]}
            refused = await direct.post(
                f"{urls['embedding']}/internal/v1/embed", json=internal, headers=auth
            )
            assert refused.status_code == 401
        unrouted = await http.post("/internal/v1/embed", json=internal)
        assert unrouted.status_code in (404, 405)  # the web UI's files answer there

        # rag reaches documents over HTTP as the caller; the answer cites the upload.
        asked = await http.post(
            "/api/v1/rag/query",
            headers=auth,
            json={"question": "When does the Quillon ferry leave?"},
        )
        assert asked.status_code == 200, asked.text
        answer = asked.json()
        assert answer["sources"][0]["document_id"] == document_id
        assert "06:40" in answer["answer"]
        # A question longer than a search reads (as a follow-up joined to earlier ones is).
        long = "When does the Quillon ferry leave? " + "Say it in a few words. " * 150
        asked = await http.post("/api/v1/rag/query", headers=auth, json={"question": long})
        assert asked.status_code == 200, asked.text
        assert asked.json()["sources"][0]["document_id"] == document_id

        # Streamed answers pass through as server-sent events.
        events: list[str] = []
        async with http.stream(
            "POST",
            "/api/v1/rag/query",
            headers=auth | {"Accept": "text/event-stream"},
            json={"question": "Which pier does the Quillon ferry leave from?"},
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = [line async for line in stream.aiter_lines() if line.startswith("event:")]
        assert events[0] == "event: sources" and events[-1] == "event: done"

        embedded = await http.post("/api/v1/embeddings", headers=auth, json={"input": ["ferry"]})
        assert embedded.status_code == 200 and len(embedded.json()["data"]) == 1

        await terminal_through_the_gateway(http, auth, urls)


async def terminal_through_the_gateway(
    http: httpx.AsyncClient, auth: dict[str, str], urls: dict[str, str]
) -> None:
    opened = await http.post(
        "/api/v1/terminal/sessions", headers=auth, json={"target": {"type": "local"}}
    )
    assert opened.status_code == 201, opened.text
    session: dict[str, Any] = opened.json()
    assert session["node"] == urls["terminal-sessions"].removeprefix("http://")
    granted = await http.post(
        f"/api/v1/terminal/sessions/{session['id']}/ticket", headers=auth, json={}
    )
    assert granted.status_code == 200, granted.text
    ws_url = urls["gateway"].replace("http://", "ws://") + session["ws_path"]
    output = bytearray()
    async with connect(
        f"{ws_url}?ticket={granted.json()['ticket']}",
        origin=urls["gateway"],  # type: ignore[arg-type]
    ) as ws:
        await ws.send(frames.input_frame(b"echo $((6*7))-via-gateway\r"))
        with anyio.fail_after(15):
            while b"42-via-gateway" not in output:
                message = await ws.recv()
                assert isinstance(message, bytes)
                if message[0] == frames.OUTPUT:
                    output += message[1:]
                    await ws.send(frames.ack_frame(len(message) - 1))
        # A question from the terminal: the session's role asks documents as the viewer.
        await ws.send(frames.query_frame("When does the Quillon ferry leave?"))
        with anyio.fail_after(20):
            while True:
                message = await ws.recv()
                assert isinstance(message, bytes)
                if message[0] == frames.STATUS and json.loads(message[1:])["type"] == "answer":
                    assert "06:40" in json.loads(message[1:])["answer"]
                    break
    # A spent ticket is refused by the owner, and the refusal comes back through.
    async with connect(f"{ws_url}?ticket={granted.json()['ticket']}") as ws:
        with anyio.fail_after(10):
            while True:
                try:
                    await ws.recv()
                except Exception as exc:
                    assert getattr(exc, "rcvd", None) and exc.rcvd.code == 4401  # type: ignore[attr-defined]
                    break
    ended = await http.delete(f"/api/v1/terminal/sessions/{session['id']}", headers=auth)
    assert ended.status_code == 204, ended.text
    listed = (await http.get("/api/v1/terminal/sessions", headers=auth)).json()
    assert [s["status"] for s in listed["items"] if s["id"] == session["id"]] == ["closed"]


ROOT = Path(__file__).resolve().parents[2]
NGINX = Path("/usr/sbin/nginx")


@asynccontextmanager
async def nginx(roles: Layout) -> AsyncIterator[tuple[int, int, Path]]:
    """deploy/nginx.conf in front of the roles: HTTPS port, SSH port, certificate.

    Only what ties it to Docker changes: service names become loopback
    addresses, listen ports free ones, and Debian's nginx loads its stream
    module (the official image has it built in).
    """
    port = {role: url.rpartition(":")[2] for role, url in roles.urls.items()}
    https, plain, ssh = free_port(), free_port(), free_port()
    certs = roles.tmp / "certs"
    write_certificate(certs, ["127.0.0.1"])
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in (
        ("listen 8080;", f"listen 127.0.0.1:{plain};"),
        ("listen 8443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;"),
        ("listen 2222;", f"listen 127.0.0.1:{ssh};"),
        ("/etc/nginx/certs", str(certs)),
        ("api-gateway:8080", f"127.0.0.1:{port['gateway']}"),
        ("terminal-gateway:2222", f"127.0.0.1:{roles.ssh_port}"),
        ("808[67]", f"(?:{port['terminal-gateway']}|{port['terminal-sessions']})"),
        ("pid /tmp/nginx.pid;", f"pid {roles.tmp}/nginx.pid;"),
        (
            "access_log /dev/stdout;",
            f"log_format routed '$uri $upstream_addr'; access_log {roles.tmp}/access.log routed;",
        ),
    ):
        assert old in conf, old
        conf = conf.replace(old, new)
    conf = "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n" + conf
    path = roles.tmp / "nginx.conf"
    path.write_text(conf)
    checked = subprocess.run(  # noqa: ASYNC221 - a one-off check before serving
        [NGINX, "-t", "-c", path], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    process = await anyio.open_process([NGINX, "-c", path, "-g", "daemon off;"])
    try:
        with anyio.fail_after(10):
            while True:
                try:
                    probe = await anyio.connect_tcp("127.0.0.1", https)
                    await probe.aclose()
                    break
                except OSError:
                    await anyio.sleep(0.05)
        yield https, ssh, certs / "tls.crt"
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.timeout(300)
async def test_nginx_sends_terminal_streams_to_their_owner_and_ssh_to_the_gateway(
    roles: Layout,
) -> None:
    async with nginx(roles) as (https, ssh_port, cert):
        tls = ssl.create_default_context(cafile=str(cert))
        base = f"https://127.0.0.1:{https}"
        async with httpx.AsyncClient(base_url=base, verify=tls, timeout=30) as http:
            login = await http.post(
                "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            assert login.status_code == 200, login.text
            assert login.headers["strict-transport-security"] == "max-age=31536000"
            assert (await http.get("/metrics")).status_code == 404  # scraped inside only
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            opened = await http.post(
                "/api/v1/terminal/sessions", headers=auth, json={"target": {"type": "local"}}
            )
            session = opened.json()
            granted = await http.post(
                f"/api/v1/terminal/sessions/{session['id']}/ticket", headers=auth, json={}
            )
            url = f"wss://127.0.0.1:{https}{session['ws_path']}?ticket={granted.json()['ticket']}"
            async with connect(url, ssl=tls, origin=base) as ws:  # type: ignore[arg-type]
                await ws.send(frames.input_frame(b"echo $((6*7))-via-nginx\r"))
                output = bytearray()
                with anyio.fail_after(15):
                    while b"42-via-nginx" not in output:
                        message = await ws.recv()
                        assert isinstance(message, bytes)
                        if message[0] == frames.OUTPUT:
                            output += message[1:]
            await http.delete(f"/api/v1/terminal/sessions/{session['id']}", headers=auth)
        # nginx took the stream straight to the terminal-sessions process.
        owner = roles.urls["terminal-sessions"].removeprefix("http://")
        routed = (roles.tmp / "access.log").read_text().splitlines()
        assert f"{session['ws_path']} {owner}" in routed, routed

        async with asyncssh.connect(
            "127.0.0.1",
            ssh_port,
            username="admin",
            password=ADMIN_PASSWORD,
            known_hosts=None,
        ) as conn:
            assert conn.get_extra_info("server_version").startswith("SSH-2.0-")
