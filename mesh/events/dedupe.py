"""Processed-event stores: a consumer handles each `event_id` once.

The PostgreSQL store records the event id in the same transaction as the handler's writes
(use `current_transaction()` in the handler), so the effect and the mark commit together.
The in-memory store marks after the handler succeeded and forgets on restart, so handlers on
it must also be idempotent (e.g. by version). `HandlerDedupes` marks nothing: for handlers
that are idempotent by version, or that record their own processed mark.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any, Protocol

__all__ = [
    "HandlerDedupes",
    "InMemoryProcessedEvents",
    "PostgresProcessedEvents",
    "ProcessedEvents",
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

    async def process_many_once(
        self, consumer: str, handles: Sequence[tuple[str, Handle]]
    ) -> list[bool]:
        """`process_once` for each (event id, handle) in order, all or nothing: when one
        handle raises, none of them counts as processed. True for each that ran."""
        ...


async def _one_by_one(
    processed: ProcessedEvents, consumer: str, handles: Sequence[tuple[str, Handle]]
) -> list[bool]:
    return [await processed.process_once(consumer, event_id, h) for event_id, h in handles]


class HandlerDedupes:
    """Runs the handler for every record: the handler itself makes a redelivery harmless."""

    async def process_once(self, consumer: str, event_id: str, handle: Handle) -> bool:
        await handle()
        return True

    async def process_many_once(
        self, consumer: str, handles: Sequence[tuple[str, Handle]]
    ) -> list[bool]:
        return await _one_by_one(self, consumer, handles)


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

    async def process_many_once(
        self, consumer: str, handles: Sequence[tuple[str, Handle]]
    ) -> list[bool]:
        seen = set(self._seen)
        try:
            return await _one_by_one(self, consumer, handles)
        except BaseException:
            self._seen = seen  # all or nothing, as in one transaction
            raise


class PostgresProcessedEvents:
    """Uses the `processed_events` table from `mesh.events.MIGRATIONS`."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def process_once(self, consumer: str, event_id: str, handle: Handle) -> bool:
        [ran] = await self.process_many_once(consumer, [(event_id, handle)])
        return ran

    async def process_many_once(
        self, consumer: str, handles: Sequence[tuple[str, Handle]]
    ) -> list[bool]:
        """One transaction for the batch: one statement marks every event id, then the
        handles of the ids marked now run in order on its connection. A commit per event
        was most of a consumer's cost when events arrive in bursts."""
        if not handles:
            return []
        async with self._pool.acquire() as conn, conn.transaction():
            # Inserting first makes a concurrent duplicate wait on the key, then skip.
            rows = await conn.fetch(
                "INSERT INTO processed_events (consumer, event_id) "
                "SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id",
                consumer,
                [event_id for event_id, _ in handles],
            )
            new = {row["event_id"] for row in rows}
            ran: list[bool] = []
            token = _transaction.set(conn)
            try:
                for event_id, handle in handles:
                    first = event_id in new
                    new.discard(event_id)  # a repeat within the batch is a duplicate too
                    if first:
                        await handle()
                    ran.append(first)
            finally:
                _transaction.reset(token)
            return ran
