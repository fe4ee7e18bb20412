"""Processed-event stores: a consumer handles each `event_id` once.

The PostgreSQL store records the event id in the same transaction as the handler's writes
(use `current_transaction()` in the handler), so the effect and the mark commit together.
The MongoDB, Redis and in-memory stores mark after the handler succeeded; a crash in between means
one redelivery, so handlers on those stores must also be idempotent (e.g. by version).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError

__all__ = [
    "InMemoryProcessedEvents",
    "MongoProcessedEvents",
    "PostgresProcessedEvents",
    "ProcessedEvents",
    "RedisProcessedEvents",
    "current_transaction",
]

Handle = Callable[[], Awaitable[None]]

_transaction: ContextVar[Any] = ContextVar("mesh_event_transaction", default=None)


def current_transaction() -> Any:
    """The asyncpg connection (inside a transaction) of the event being handled, or None."""
    return _transaction.get()


class ProcessedEvents(Protocol):
    async def process_once(self, consumer: str, event_id: str, handle: Handle) -> bool:
        """Runs `handle` unless `event_id` was processed by `consumer`; True if it ran."""
        ...


class InMemoryProcessedEvents:
    """For unit tests and handlers that are idempotent by themselves."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()

    async def process_once(self, consumer: str, event_id: str, handle: Handle) -> bool:
        if (consumer, event_id) in self._seen:
            return False
        await handle()
        self._seen.add((consumer, event_id))
        return True


class PostgresProcessedEvents:
    """Uses the `processed_events` table from `mesh.events.MIGRATIONS`."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def process_once(self, consumer: str, event_id: str, handle: Handle) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            # Inserting first makes a concurrent duplicate wait on the key, then skip.
            inserted = await conn.fetchval(
                "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING RETURNING 1",
                consumer,
                event_id,
            )
            if inserted is None:
                return False
            token = _transaction.set(conn)
            try:
                await handle()
            finally:
                _transaction.reset(token)
            return True


class MongoProcessedEvents:
    """Marks in a `processed_events` collection (motor), for the MongoDB-backed services."""

    def __init__(self, database: Any, *, collection: str = "processed_events") -> None:
        self._collection = database[collection]

    async def process_once(self, consumer: str, event_id: str, handle: Handle) -> bool:
        key = f"{consumer}:{event_id}"
        if await self._collection.find_one({"_id": key}, projection={"_id": 1}) is not None:
            return False
        await handle()
        try:
            await self._collection.insert_one({"_id": key})
        except DuplicateKeyError:
            # A concurrent duplicate finished first; both effects were idempotent by design.
            pass
        return True


class RedisProcessedEvents:
    """`SET NX` marks with a retention period, for services whose store is Redis."""

    def __init__(self, redis: Any, *, retention_seconds: int = 7 * 24 * 3600) -> None:
        self._redis = redis
        self._retention = retention_seconds

    async def process_once(self, consumer: str, event_id: str, handle: Handle) -> bool:
        key = f"processed-event:{consumer}:{event_id}"
        if await self._redis.exists(key):
            return False
        await handle()
        await self._redis.set(key, b"1", ex=self._retention, nx=True)
        return True
