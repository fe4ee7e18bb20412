"""Servers that refuse root (PostgreSQL, Elasticsearch) run as a system user when we are root."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Final

SERVICE_USER: Final = "shopmesh"


def running_as_root() -> bool:
    return os.geteuid() == 0


def server_user() -> str | None:
    """The account servers run under: None (ourselves) unless we are root."""
    if not running_as_root():
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run(  # noqa: S603 - fixed argv
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
    return SERVICE_USER


def hand_over(path: Path, user: str | None) -> None:
    """Give `user` a directory tree and the right to reach it (x on each parent)."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    make_reachable(path, user)


def make_reachable(path: Path, user: str | None = SERVICE_USER) -> None:
    """Add the search (x) bit for others on every parent the server account does not own.

    Directories it owns (the state directory) keep their private 0700 mode.
    """
    owner_uid = _uid(user)
    for parent in path.resolve().parents:
        info = parent.stat()
        if info.st_uid == owner_uid:
            continue
        mode = info.st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _uid(user: str | None) -> int | None:
    if user is None:
        return None
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def make_readable(path: Path) -> None:
    """Let other users read and traverse a tree of cached binaries."""
    for root, _dirs, files in os.walk(path):
        os.chmod(root, os.stat(root).st_mode | stat.S_IROTH | stat.S_IXOTH)
        for name in files:
            full = os.path.join(root, name)
            os.chmod(full, os.stat(full).st_mode | stat.S_IROTH)
    make_reachable(path)


def prepare_state_dir(path: Path, user: str | None) -> None:
    """Create the state directory, owned by whoever runs `shop` and private to them (0700).

    It holds the keys and credentials (JWT signing keys, credentials.json with the admin and
    store passwords). Servers that run under their own account keep their data apart, in
    `prepare_stores_dir`'s directory, so a compromised store process can neither read those
    nor plant a signing key.
    """
    path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_uid != os.geteuid():
        # Earlier versions gave the state directory to the servers' account.
        os.chown(path, os.geteuid(), os.getegid())
    path.chmod(0o700)


def prepare_stores_dir(path: Path, user: str | None) -> None:
    """The directory of the data of servers that run under `user` (as root): theirs, 0700."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        make_reachable(path, user)
