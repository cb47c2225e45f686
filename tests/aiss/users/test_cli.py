"""`aiss users ...` as a real process against the embedded database."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def aiss(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AISS_DATA_DIR": str(tmp_path / "data"),
        "AISS_ARGON2_TIME_COST": "1",
        "AISS_ARGON2_MEMORY": "8MiB",
        "LOG_LEVEL": "warning",
    }
    return subprocess.run(
        [sys.executable, "-m", "aiss", "users", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_create_list_and_set_password(tmp_path: Path) -> None:
    created = aiss(
        tmp_path,
        "create",
        "carol",
        "--email",
        "carol@example.org",
        "--password-stdin",
        stdin="Str0ng-Passw0rd-x\n",
    )
    assert created.returncode == 0, created.stderr
    assert "created carol (user)" in created.stdout
    # The first use of a data dir also seeds the admin, printing its password once.
    assert "admin password: " in created.stdout

    listed = aiss(tmp_path, "list")
    assert listed.returncode == 0
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert ["carol", "carol@example.org", "user", "active"] in rows
    assert "admin password" not in listed.stdout

    weak = aiss(tmp_path, "set-password", "carol", "--password-stdin", stdin="weak\n")
    assert weak.returncode == 1
    assert "the password is too weak" in weak.stderr
    changed = aiss(
        tmp_path, "set-password", "carol", "--password-stdin", stdin="An0ther-Str0ng-one\n"
    )
    assert changed.returncode == 0 and "tokens are revoked" in changed.stdout
    twice = aiss(
        tmp_path,
        "create",
        "carol",
        "--email",
        "c2@example.org",
        "--password-stdin",
        stdin="Str0ng-Passw0rd-x\n",
    )
    assert twice.returncode == 1 and "already taken" in twice.stderr
    missing = aiss(tmp_path, "set-password", "nobody", "--password-stdin", stdin="x\n")
    assert missing.returncode == 1 and "no user 'nobody'" in missing.stderr
