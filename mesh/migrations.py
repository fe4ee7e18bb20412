"""Versioned SQL migrations for asyncpg, applied in order under an advisory lock.

A migration is a `.sql` file named `<number>_<name>.sql`; its version is
`<namespace>/<file name>` so the runtime's migrations (`mesh.events.MIGRATIONS`) and a
service's own never collide. Applied versions are recorded in `schema_migrations`; each
file runs in its own transaction. Concurrent starts (several replicas) serialize on
`pg_advisory_lock`, so every migration runs exactly once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

__all__ = ["Migration", "apply_migrations", "load_migrations"]

logger = logging.getLogger(__name__)

# Arbitrary constant identifying "schema migrations" among advisory locks.
_LOCK_KEY: Final = 0x5_40F_3E5
_FILE_NAME = re.compile(r"^(\d+)_[A-Za-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(package: str, directory: str = "migrations") -> list[Migration]:
    """The `.sql` files in `package`/`directory`, ordered by their number."""
    folder = resources.files(package).joinpath(directory)
    found: list[tuple[int, Migration]] = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        version = f"{package}/{entry.name}"
        found.append((int(match.group(1)), Migration(version, entry.read_text("utf-8"))))
    numbers = [number for number, _ in found]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"duplicate migration numbers in {package}/{directory}")
    return [migration for _, migration in sorted(found, key=lambda item: item[0])]


async def apply_migrations(conn: Any, migrations: Sequence[Migration]) -> list[str]:
    """Applies what is missing, in the given order; returns the versions applied now.

    Fails when an applied migration's file changed: migrations are append-only.
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY,"
            " checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
        applied = {row["version"]: row["checksum"] for row in rows}
        done: list[str] = []
        for migration in migrations:
            known = applied.get(migration.version)
            if known is not None:
                if known != migration.checksum:
                    raise RuntimeError(f"applied migration {migration.version} was modified")
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                    migration.version,
                    migration.checksum,
                )
            logger.info("applied migration %s", migration.version)
            done.append(migration.version)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
