"""The users' persistent homes for local shells, and the uid each user's shells run as.

A home is named by the user's id, not the name (a name given up and taken
again must not bring the old files with it). The homes' directory belongs to
the server (0711: passable, not listable); each home is 0700. When the server
runs as root its shells drop to a uid of `uid_range`, one per user: the home's
owner is the record of which uid is whose, so nothing else needs storing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import threading
from pathlib import Path

from terminal.sandbox import Identity

from ..errors import ServiceUnavailable

NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
HOME = re.compile(r"^[0-9a-f]{24}$")  # a user id
PROBE = ".probe"
HOST_CLAIMS = Path("/var/lib/aiss/uids")  # every AISS of this host claims its uids here


class Homes:
    def __init__(self, root: Path, uid_range: tuple[int, int] | None, legacy: Path) -> None:
        self.root = root
        self.uid_range = uid_range  # None: shells keep the server's uid
        self.legacy = legacy  # homes of earlier versions, by user name
        self._lock = threading.Lock()

    def ready(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(self.root, 0, 0, follow_symlinks=False)
        os.chmod(self.root, 0o711)
        # Anything here that is no user's home (an earlier layout's folders, say) is
        # the server's alone: shells may pass through this directory.
        for entry in self.root.iterdir():
            if not (HOME.match(entry.name) or entry.name in (PROBE, ".aiss-bashrc")):
                with contextlib.suppress(OSError):
                    os.chmod(entry, 0o700, follow_symlinks=False)

    def identity(self, user_id: str, username: str) -> Identity:
        """The user's home (made on first use) and uid; blocking, run it in a thread."""
        name = username.lower() if NAME.match(username.lower()) else "user"
        home = self.root / user_id
        with self._lock:
            uid = self._owner(home)
            if uid is None:
                uid = self._make(home, username)
        return Identity(name, home, uid if self.uid_range is not None else None)

    def probe_identity(self) -> Identity:
        """A home and uid of no user's, for trying a sandbox out."""
        self.ready()
        home = self.root / PROBE
        home.mkdir(mode=0o700, exist_ok=True)
        uid = None
        if self.uid_range is not None:
            uid = self.uid_range[1]  # the range's last uid is kept for this
            os.chown(home, uid, uid)
        return Identity("probe", home, uid)

    def _owner(self, home: Path) -> int | None:
        """The uid of an existing home; None when there is none yet."""
        try:
            owner = home.lstat().st_uid
        except FileNotFoundError:
            return None
        if self.uid_range is None:
            return owner  # the server's own; Identity.uid None below
        low, high = self.uid_range
        if not low <= owner < high:  # made when the server did not run as root
            uid = self._free()
            _chown_tree(home, uid)
            return uid
        return owner

    def _make(self, home: Path, username: str) -> int | None:
        self.ready()
        old = next((p for p in self._legacy(username) if p.is_dir() and not p.is_symlink()), None)
        if old is not None:
            shutil.move(old, home)  # a home of an earlier version, kept by name
            os.chmod(home, 0o700)
        else:
            home.mkdir(mode=0o700)
        if self.uid_range is None:
            return None
        uid = self._free()
        _chown_tree(home, uid)
        return uid

    def _claim(self, uid: int) -> bool:
        made: list[Path] = []
        for registry in (self.root / ".uids", HOST_CLAIMS):
            registry.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                fd = os.open(registry / str(uid), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                for path in made:
                    path.unlink(missing_ok=True)
                return False
            with os.fdopen(fd, "w") as file:
                file.write(f"{self.root}\n")
            made.append(registry / str(uid))
        return True

    def _legacy(self, username: str) -> list[Path]:
        """Where earlier versions kept a user's home: by name, under the data dir, or
        under `home/` of a volume that moved to the homes' place."""
        return [self.legacy / username, self.root / "home" / username]

    def _free(self) -> int:
        """A uid of the range that nothing else has: no home here, no account or
        subordinate range of the host, no claim by another AISS on this host or on
        this homes volume (claims are files made exclusively, so two racers never
        get the same one)."""
        assert self.uid_range is not None
        low, high = self.uid_range
        used = _host_uids()
        for entry in self.root.iterdir():
            with contextlib.suppress(OSError):
                used.add(entry.lstat().st_uid)
        for uid in range(low, high):  # `high` itself is the probe's
            if uid not in used and self._claim(uid):
                return uid
        raise ServiceUnavailable(
            "no uid is left in AISS_TERMINAL_UID_RANGE for another user's shells"
        )


def _host_uids() -> set[int]:
    """The host's accounts and subordinate ranges (rootless containers' files)."""
    used: set[int] = set()
    for line in _lines("/etc/passwd"):
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit():
            used.add(int(fields[2]))
    for path in ("/etc/subuid", "/etc/subgid"):
        for line in _lines(path):
            fields = line.split(":")
            if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
                start, count = int(fields[1]), min(int(fields[2]), 1 << 24)
                used.update(range(start, start + count))
    return used


def _lines(path: str) -> list[str]:
    try:
        with open(path) as file:
            return file.read().splitlines()
    except OSError:
        return []


def _chown_tree(top: Path, uid: int) -> None:
    """Give `top` and everything in it to `uid`, through directory descriptors (a
    directory swapped for a link mid-walk is not followed) and never a file with
    other names elsewhere (a hard link to a secret stays the server's)."""
    os.chown(top, uid, uid, follow_symlinks=False)
    for _, dirs, files, fd in os.fwalk(top, follow_symlinks=False):
        for name in (*dirs, *files):
            with contextlib.suppress(FileNotFoundError):
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                    continue
                os.chown(name, uid, uid, dir_fd=fd, follow_symlinks=False)
