"""The user store on PostgreSQL (asyncpg). Events go to the outbox in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ..domain.model import User, UserEvent, UserRegistered, UserUpdated
from ..domain.sessions import RefreshToken, TokenState, state_of
from ..domain.throttle import Attempts
from ..service_layer.ports import EmailTakenError, PageCursor, Rotation, UserStore

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
# Writes an event into the outbox on the given connection, inside the caller's transaction.
RecordEvent = Callable[[Connection, UserEvent], Awaitable[None]]

_USER_COLUMNS = (
    "id, email, display_name, roles, password_hash, created_at, updated_at, version,"
    " email_verified_at"
)
_TOKEN_COLUMNS = "token_hash, family_id, user_id, issued_at, expires_at, used_at, revoked_at"


class PostgresUserStore(UserStore):
    def __init__(self, pool: asyncpg.Pool, record_event: RecordEvent) -> None:
        self._pool = pool
        self._record_event = record_event

    async def add_user(self, user: User, registered: UserRegistered) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(
                    f"INSERT INTO users ({_USER_COLUMNS})"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    *_user_values(user),
                )
            except asyncpg.UniqueViolationError:
                raise EmailTakenError(user.email) from None
            await self._record_event(conn, registered)

    async def add_event(self, event: UserEvent) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await self._record_event(conn, event)

    async def get_user(self, user_id: str) -> User | None:
        row = await self._pool.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", uuid.UUID(user_id)
        )
        return _user(row) if row else None

    async def find_by_email(self, email: str) -> User | None:
        row = await self._pool.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users WHERE lower(email) = lower($1)", email
        )
        return _user(row) if row else None

    async def update_user(self, user_id: str, change: Callable[[User], User]) -> User | None:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE", uuid.UUID(user_id)
            )
            if row is None:
                return None
            current = _user(row)
            updated = change(current)
            if updated == current:
                return current
            try:
                await conn.execute(
                    "UPDATE users SET email = $2, display_name = $3, roles = $4,"
                    " password_hash = $5, created_at = $6, updated_at = $7, version = $8,"
                    " email_verified_at = $9 WHERE id = $1",
                    *_user_values(updated),
                )
            except asyncpg.UniqueViolationError:
                raise EmailTakenError(updated.email) from None
            await self._record_event(conn, UserUpdated(updated))
            return updated

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self._pool.execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1", uuid.UUID(user_id), password_hash
        )

    async def list_users(
        self, limit: int, after: PageCursor | None, email_prefix: str
    ) -> list[User]:
        rows = await self._pool.fetch(
            f"SELECT {_USER_COLUMNS} FROM users"
            " WHERE lower(email) LIKE $1"
            " AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))"
            " ORDER BY created_at DESC, id DESC LIMIT $4",
            _prefix_pattern(email_prefix),
            after.created_at if after else None,
            uuid.UUID(after.user_id) if after else None,
            limit,
        )
        return [_user(row) for row in rows]

    async def count_users(self, email_prefix: str) -> int:
        count: int = await self._pool.fetchval(
            "SELECT count(*) FROM users WHERE lower(email) LIKE $1", _prefix_pattern(email_prefix)
        )
        return count

    async def add_refresh_token(self, token: RefreshToken) -> None:
        await self._pool.execute(
            f"INSERT INTO refresh_tokens ({_TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            *_token_values(token),
        )

    async def rotate_refresh_token(
        self,
        token_hash: str,
        now: datetime,
        successor: Callable[[RefreshToken], RefreshToken],
    ) -> Rotation:
        async with self._pool.acquire() as conn, conn.transaction():
            # The row lock serialises two refreshes racing with the same token: the second
            # sees it used and revokes the family.
            row = await conn.fetchrow(
                f"SELECT {_TOKEN_COLUMNS} FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
                token_hash,
            )
            if row is None:
                return Rotation(state=None)
            token = _token(row)
            state = state_of(token, now)
            if state is TokenState.REPLAYED:
                await _revoke_family(conn, token.family_id, now)
                return Rotation(state=state, family_id=token.family_id)
            if state is TokenState.EXPIRED:
                return Rotation(state=state, family_id=token.family_id)
            user_row = await conn.fetchrow(
                f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", uuid.UUID(token.user_id)
            )
            if user_row is None:
                return Rotation(state=None)
            await conn.execute(
                "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1", token_hash, now
            )
            new_token = successor(token)
            await conn.execute(
                f"INSERT INTO refresh_tokens ({_TOKEN_COLUMNS})"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                *_token_values(new_token),
            )
            return Rotation(
                state=state, user=_user(user_row), successor=new_token, family_id=token.family_id
            )

    async def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        row = await self._pool.fetchrow(
            f"SELECT {_TOKEN_COLUMNS} FROM refresh_tokens WHERE token_hash = $1", token_hash
        )
        return _token(row) if row else None

    async def revoke_family(self, token_hash: str, now: datetime) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            family_id = await conn.fetchval(
                "SELECT family_id FROM refresh_tokens WHERE token_hash = $1", token_hash
            )
            if family_id is None:
                return False
            await _revoke_family(conn, str(family_id), now)
            return True

    async def get_attempts(self, keys: list[str]) -> dict[str, Attempts]:
        rows = await self._pool.fetch(
            "SELECT throttle_key, failures, window_started_at, last_failure_at, locked_until"
            " FROM login_attempts WHERE throttle_key = ANY($1::text[])",
            keys,
        )
        return {row["throttle_key"]: _attempts(row) for row in rows}

    async def update_attempts(
        self, key: str, change: Callable[[Attempts | None], Attempts]
    ) -> Attempts:
        async with self._pool.acquire() as conn, conn.transaction():
            # An empty row first, so that even the first failures of racing calls queue on
            # one row lock and all count.
            await conn.execute(
                "INSERT INTO login_attempts"
                " (throttle_key, failures, window_started_at, last_failure_at)"
                " VALUES ($1, 0, now(), now()) ON CONFLICT (throttle_key) DO NOTHING",
                key,
            )
            row = await conn.fetchrow(
                "SELECT failures, window_started_at, last_failure_at, locked_until"
                " FROM login_attempts WHERE throttle_key = $1 FOR UPDATE",
                key,
            )
            assert row is not None  # inserted above if it was missing
            current = _attempts(row)
            empty = current.failures == 0 and current.locked_until is None
            attempts = change(None if empty else current)
            await conn.execute(
                "UPDATE login_attempts SET failures = $2, window_started_at = $3,"
                " last_failure_at = $4, locked_until = $5 WHERE throttle_key = $1",
                key,
                attempts.failures,
                attempts.window_started_at,
                attempts.last_failure_at,
                attempts.locked_until,
            )
            return attempts

    async def clear_attempts(self, key: str) -> None:
        await self._pool.execute("DELETE FROM login_attempts WHERE throttle_key = $1", key)

    async def purge(self, now: datetime, attempts_idle_for: timedelta) -> None:
        await self._pool.execute("DELETE FROM refresh_tokens WHERE expires_at < $1", now)
        await self._pool.execute(
            "DELETE FROM login_attempts WHERE last_failure_at < $1"
            " AND (locked_until IS NULL OR locked_until < $2)",
            now - attempts_idle_for,
            now,
        )


async def _revoke_family(conn: Connection, family_id: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        uuid.UUID(family_id),
        now,
    )


def _prefix_pattern(prefix: str) -> str:
    escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _user_values(user: User) -> tuple[Any, ...]:
    return (
        uuid.UUID(user.id),
        user.email,
        user.display_name,
        list(user.roles),
        user.password_hash,
        user.created_at,
        user.updated_at,
        user.version,
        user.email_verified_at,
    )


def _user(row: asyncpg.Record) -> User:
    return User(
        id=str(row["id"]),
        email=row["email"],
        display_name=row["display_name"],
        roles=tuple(row["roles"]),
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        email_verified_at=row["email_verified_at"],
    )


def _token_values(token: RefreshToken) -> tuple[Any, ...]:
    return (
        token.token_hash,
        uuid.UUID(token.family_id),
        uuid.UUID(token.user_id),
        token.issued_at,
        token.expires_at,
        token.used_at,
        token.revoked_at,
    )


def _token(row: asyncpg.Record) -> RefreshToken:
    return RefreshToken(
        token_hash=row["token_hash"],
        family_id=str(row["family_id"]),
        user_id=str(row["user_id"]),
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        revoked_at=row["revoked_at"],
    )


def _attempts(row: asyncpg.Record) -> Attempts:
    return Attempts(
        failures=row["failures"],
        window_started_at=row["window_started_at"],
        last_failure_at=row["last_failure_at"],
        locked_until=row["locked_until"],
    )
