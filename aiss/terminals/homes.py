"""The users' persistent homes for local shells, and the uid each user's shells run as.

A home is named by the user's id, not the name (a name given up and taken
again must not bring the old files with it). The homes' directory belongs to
the server (0711: passable, not listable); each home is 0700. When the server
runs as root its shells drop to a uid of `uid_range`, one per user: the home's
owner is the record of which uid is whose, so nothing else needs storing.
"""

from __future__ import annotations

import os
import re
import threading
from typing import TYPE_CHECKING

from terminal.sandbox import Identity

from ..errors import ServiceUnavailable

if TYPE_CHECKING:
    from pathlib import Path

NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
PROBE = ".probe"


class Homes:
    def __init__(self, root: Path, uid_range: tuple[int, int] | None, legacy: Path) -> None:
        self.root = root
        self.uid_range = uid_range  # None: shells keep the server's uid
        self.legacy = legacy  # homes of earlier versions, by user name
        self._lock = threading.Lock()

    def ready(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o711)

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
        old = self.legacy / username
        if old.is_dir() and not old.is_symlink():
            os.rename(old, home)  # a home of an earlier version, kept by name
            os.chmod(home, 0o700)
        else:
            home.mkdir(mode=0o700)
        if self.uid_range is None:
            return None
        uid = self._free()
        _chown_tree(home, uid)
        return uid

    def _free(self) -> int:
        assert self.uid_range is not None
        low, high = self.uid_range
        used = set()
        for entry in self.root.iterdir():
            try:
                used.add(entry.lstat().st_uid)
            except OSError:
                continue
        for uid in range(low, high):  # `high` itself is the probe's
            if uid not in used:
                return uid
        raise ServiceUnavailable(
            "no uid is left in AISS_TERMINAL_UID_RANGE for another user's shells"
        )


def _chown_tree(top: Path, uid: int) -> None:
    """Give `top` and everything in it to `uid`, following no link."""
    os.chown(top, uid, uid, follow_symlinks=False)
    for base, dirs, files in os.walk(top, followlinks=False):
        for entry in (*dirs, *files):
            os.chown(os.path.join(base, entry), uid, uid, follow_symlinks=False)
