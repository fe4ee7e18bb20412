"""The PostgreSQL pool of a service: opened with its schema migrated, probed for readiness."""

from __future__ import annotations

import asyncpg

from mesh.events import MIGRATIONS
from mesh.health import Probe
from mesh.migrations import apply_migrations, load_migrations

__all__ = ["open_pool", "pool_probe"]


async def open_pool(dsn: str, *, package: str, min_size: int = 1, max_size: int) -> asyncpg.Pool:
    """A pool on the service's own database after the runtime's tables (outbox, processed
    events) and `<package>/migrations` are applied. A failed migration closes the pool: the
    runtime only cleans up what `build` returned."""
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn, [*MIGRATIONS, *load_migrations(package)])
    except BaseException:
        await pool.close()
        raise
    return pool


def pool_probe(pool: asyncpg.Pool) -> Probe:
    """The readiness probe: the service is NOT_SERVING while its database does not answer."""

    async def probe() -> None:
        await pool.fetchval("SELECT 1")

    return probe
