"""The `aiss` command, run as a real process."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from aiss.__main__ import serve_settings
from aiss.config import ConfigError, Settings

from ..servers import free_port

if TYPE_CHECKING:
    from pathlib import Path


def start(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AISS_DATA_DIR": str(tmp_path / "data"),
        "AISS_SHUTDOWN_TIMEOUT": "5s",
        "AISS_SSH_PORT": str(free_port()),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "aiss", *args],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_healthy(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"aiss exited early: {process.communicate()[1]}")
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail("aiss did not become healthy")


def test_serve_answers_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = start(tmp_path, "serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        assert httpx.get(f"{base}/ready").json() == {
            "ready": True,
            "not_ready": [],
            "details": {"terminal_sandbox": "bwrap"},
        }
        assert "aiss_actor_up" in httpx.get(f"{base}/metrics").text
        assert "/health" in httpx.get(f"{base}/openapi.json").json()["paths"]
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        process.kill()
    # uvicorn re-raises the signal once it has shut down, as a process should.
    assert process.returncode == -signal.SIGTERM
    assert "AISS created the user 'admin' with the password: " in stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert messages.index("Application shutdown complete.") < len(messages) - 1
    assert any(line.get("route") == "/ready" and "request_id" in line for line in lines)
    assert lines[-1]["message"].startswith("Finished server process")
    assert (tmp_path / "data").is_dir()


def test_bad_configuration_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    process = start(tmp_path, "serve", JWT_EXPIRATION="forever", ENVIRONMENT="production")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "JWT_EXPIRATION='forever': expected a duration such as 30m" in stderr
    assert "JWT_SECRET: required when ENVIRONMENT=production" in stderr


@pytest.mark.parametrize(
    ("role", "port", "expected"),
    [("all", None, 9000), ("gateway", None, 9000), ("rag", None, 8085), ("rag", 7000, 7000)],
)
def test_roles_listen_on_their_classic_ports(role: str, port: int | None, expected: int) -> None:
    settings = Settings.from_env({"API_GATEWAY_PORT": "9000", **SHARED}, env_file=None)
    args = argparse.Namespace(role=role, host=None, port=port)
    chosen = serve_settings(settings, args)
    assert (chosen.role, chosen.port) == (role, expected)
    assert chosen.node == f"127.0.0.1:{expected}"


SHARED = {
    "MONGODB_URI": "mongodb://mongo:27017",
    "AISS_S3_ENDPOINT": "http://minio:9000",
    "JWT_SECRET": "s" * 40,
    "AISS_ENCRYPTION_KEY": "k" * 40,
}


@pytest.mark.parametrize("missing", sorted(SHARED))
def test_a_role_refuses_to_start_without_the_shared_stores_and_keys(missing: str) -> None:
    environ = {k: v for k, v in SHARED.items() if k != missing}
    settings = Settings.from_env(environ, env_file=None)
    with pytest.raises(ConfigError) as raised:
        serve_settings(settings, argparse.Namespace(role="documents", host=None, port=None))
    assert raised.value.problems == [
        f"{missing}: required with --role documents; every role must use the same one"
    ]
    # One process with everything in it keeps its embedded defaults.
    alone = serve_settings(settings, argparse.Namespace(role="all", host=None, port=None))
    assert alone.role == "all"


def test_the_node_is_the_address_others_reach() -> None:
    settings = Settings.from_env({"AISS_HOST": "0.0.0.0"}, env_file=None)
    chosen = serve_settings(settings, argparse.Namespace(role="all", host=None, port=None))
    host, _, port = chosen.node.rpartition(":")
    assert port == "8080" and host not in ("0.0.0.0", "")
    given = Settings.from_env({"AISS_NODE": "10.0.0.7:8087"}, env_file=None)
    assert serve_settings(given, argparse.Namespace(role="all", host=None, port=None)).node == (
        "10.0.0.7:8087"
    )
