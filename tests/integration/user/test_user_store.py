"""The PostgreSQL user store on its own: what the gRPC tests do not reach."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from launcher.testing import DatabaseFactory
from mesh.events import MIGRATIONS
from mesh.migrations import apply_migrations, load_migrations
from services.user.adapters.postgres import Connection, PostgresUserStore
from services.user.domain.model import User, UserEvent, UserRegistered
from services.user.domain.sessions import RefreshToken
from services.user.domain.throttle import Attempts

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def _no_events(conn: Connection, event: UserEvent) -> None:
    return None


def _replace_with(attempts: Attempts) -> Callable[[Attempts | None], Attempts]:
    return lambda _current: attempts


@pytest.fixture
async def store(postgres_dsn: DatabaseFactory) -> AsyncIterator[PostgresUserStore]:
    pool = await asyncpg.create_pool(postgres_dsn(), min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await apply_migrations(conn, [*MIGRATIONS, *load_migrations("services.user")])
        # A second start applies nothing: the runner records what it applied.
        assert await apply_migrations(conn, load_migrations("services.user")) == []
    try:
        yield PostgresUserStore(pool, _no_events)
    finally:
        await pool.close()


async def test_purge_drops_expired_tokens_and_idle_counters_only(
    store: PostgresUserStore,
) -> None:
    user = User(str(uuid.uuid4()), "p@example.com", "P", ("customer",), "h", NOW, NOW)
    await store.add_user(user, UserRegistered(user))
    family = str(uuid.uuid4())
    await store.add_refresh_token(
        RefreshToken("expired", family, user.id, NOW - timedelta(days=20), NOW - timedelta(days=6))
    )
    await store.add_refresh_token(
        RefreshToken("live", family, user.id, NOW, NOW + timedelta(days=14))
    )
    stale = Attempts(2, NOW - timedelta(hours=2), NOW - timedelta(hours=2))
    locked = Attempts(0, NOW - timedelta(hours=2), NOW - timedelta(hours=2), NOW + timedelta(1))
    recent = Attempts(1, NOW, NOW)
    for key, attempts in (("stale", stale), ("locked", locked), ("recent", recent)):
        await store.update_attempts(key, _replace_with(attempts))

    await store.purge(NOW, timedelta(minutes=15))

    assert set(await store.get_attempts(["stale", "locked", "recent"])) == {"locked", "recent"}
    assert not await store.revoke_family("expired", NOW)
    assert await store.revoke_family("live", NOW)


async def test_verification_state_and_session_lookup_round_trip(store: PostgresUserStore) -> None:
    user = User(str(uuid.uuid4()), "v@example.com", "V", ("customer",), "h", NOW, NOW)
    await store.add_user(user, UserRegistered(user, "https://shop.example.com/verify"))
    verified = await store.update_user(
        user.id, lambda current: replace(current, email_verified_at=NOW, version=2)
    )
    assert verified is not None and verified.email_verified
    assert (await store.get_user(user.id)) == verified
    token = RefreshToken("lookup", str(uuid.uuid4()), user.id, NOW, NOW + timedelta(days=1))
    await store.add_refresh_token(token)
    assert await store.find_refresh_token("lookup") == token
    assert await store.find_refresh_token("missing") is None
