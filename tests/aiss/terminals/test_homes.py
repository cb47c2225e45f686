"""Homes and their uids: one per user, never shared, never a door to the server's files."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from aiss.terminals.homes import Homes
from aiss.terminals.manager import readable_by_others

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uids of their own need root")
RANGE = (1879100000, 1879100100)


@pytest.fixture
def place() -> Iterator[Path]:
    Path("/var/lib/aiss").mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="test-homes-", dir="/var/lib/aiss"))
    yield root
    shutil.rmtree(root, ignore_errors=True)
    for uid in range(*RANGE):
        (Path("/var/lib/aiss/uids") / str(uid)).unlink(missing_ok=True)


def test_two_instances_on_one_host_never_share_a_uid(place: Path) -> None:
    one = Homes(place / "one", RANGE, legacy=place / "old")
    two = Homes(place / "two", RANGE, legacy=place / "old")
    uids = {one.identity(f"{n:024x}", f"a{n}").uid for n in range(5)}
    uids |= {two.identity(f"{n:024x}", f"b{n}").uid for n in range(5)}
    assert len(uids) == 10 and all(RANGE[0] <= u < RANGE[1] for u in uids if u)
    again = one.identity(f"{0:024x}", "a0")  # the same user keeps theirs
    assert again.uid in uids and oct(again.home.stat().st_mode)[-3:] == "700"


def test_an_old_home_moves_in_without_giving_away_what_it_links_to(place: Path) -> None:
    secret = place / "jwt_secret"
    secret.write_text("server's")
    old = place / "old" / "carol"
    old.mkdir(parents=True)
    (old / "notes.txt").write_text("mine")
    os.link(secret, old / "linked")  # a hard link planted by an unsandboxed shell
    os.symlink("/etc", old / "etc")
    homes = Homes(place / "homes", RANGE, legacy=place / "old")
    me = homes.identity("c" * 24, "carol")
    assert me.uid is not None
    assert (me.home / "notes.txt").stat().st_uid == me.uid
    assert secret.stat().st_uid == 0 and Path("/etc").stat().st_uid == 0
    assert not old.exists()


def test_strays_in_the_homes_directory_are_closed(place: Path) -> None:
    root = place / "homes"
    (root / "home" / "dave").mkdir(parents=True)
    os.chmod(root / "home", 0o755)
    Homes(root, RANGE, legacy=place / "old").ready()
    assert oct((root / "home").stat().st_mode)[-3:] == "700"
    assert oct(root.stat().st_mode)[-3:] == "711" and root.stat().st_uid == 0


def test_secrets_left_readable_to_every_uid_are_named(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o755)
    (secrets / "jwt").write_text("x")
    os.chmod(secrets / "jwt", 0o444)  # Swarm's default mode
    (secrets / "key").write_text("y")
    os.chmod(secrets / "key", 0o400)
    closed = tmp_path / "data"
    closed.mkdir(mode=0o700)
    (closed / "inside").write_text("z")
    os.chmod(secrets, 0o711)
    assert readable_by_others([secrets, closed]) == [secrets / "jwt"]
