"""The local state directory: keys and credentials belong to whoever runs the platform and
nobody else reads them; the data of servers that run under their own account (PostgreSQL,
Elasticsearch) lies apart and belongs to that account."""

from __future__ import annotations

import json
import os
import pwd
import stat
from datetime import UTC, datetime
from pathlib import Path

from launcher.credentials import CREDENTIALS_FILE, CredentialStore
from launcher.infra import Infrastructure
from launcher.osuser import SERVICE_USER, running_as_root
from launcher.testing import DatabaseFactory
from services.user.adapters.signing_keys import write_new_key


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def owner(path: Path) -> int:
    return path.stat().st_uid


def store_uid() -> int:
    return pwd.getpwnam(SERVICE_USER).pw_uid


def test_keys_and_credentials_are_the_runners_and_store_data_the_stores(
    shop_infra: Infrastructure, postgres_dsn: DatabaseFactory
) -> None:
    state = shop_infra.config.state_dir
    # A key directory as the user service creates it there.
    keys = state / "jwt"
    write_new_key(keys, datetime.now(UTC))

    assert owner(state) == os.geteuid() and mode(state) == 0o700
    credentials = state / CREDENTIALS_FILE
    assert owner(credentials) == os.geteuid() and mode(credentials) == 0o600
    assert owner(keys) == os.geteuid() and mode(keys) == 0o700
    for key in keys.glob("*.pem"):
        assert owner(key) == os.geteuid() and mode(key) == 0o600
    # The data of servers under their own account lies apart, and is theirs alone.
    stores = shop_infra.config.stores_dir
    assert stores.parent == state.parent and not (state / "postgres").exists()
    servers = store_uid() if running_as_root() else os.geteuid()
    for directory in (stores, stores / "postgres", stores / "postgres" / "data"):
        assert owner(directory) == servers and mode(directory) == 0o700
    if running_as_root():
        # Nothing in the state directory belongs to the servers' account.
        assert not [p for p in state.rglob("*") if owner(p) == store_uid()]


def test_a_credentials_file_readable_by_others_or_not_ours_is_rewritten_private(
    tmp_path: Path,
) -> None:
    store = CredentialStore(tmp_path)
    credentials, created = store.load_or_create()
    assert created and mode(store.path) == 0o600
    store.path.chmod(0o644)
    if running_as_root():
        os.chown(store.path, store_uid(), -1)

    again, created = store.load_or_create()

    assert not created and again == credentials
    assert mode(store.path) == 0o600 and owner(store.path) == os.geteuid()
    assert json.loads(store.path.read_text())["admin_password"] == credentials.admin_password
