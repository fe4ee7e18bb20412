"""The order store on PostgreSQL (asyncpg).

Each saga step is one transaction: the conditional update of the order (it must still be at the
step the transition expects), a row in the saga log, and the step's events in the outbox.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ..domain.idempotency import IdempotencyRecord
from ..domain.model import (
    Address,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    SagaStep,
    Transition,
)
from ..domain.pricing import Totals
from ..service_layer.store import (
    IdempotencyConflict,
    OrderQuery,
    OrderStore,
    PageCursor,
    StaleSagaState,
)

_FINISHED_STEPS = [step.value for step in SagaStep if step.is_finished]
_ORDER_COLUMNS = """
    id, user_id, status, saga_step, currency, subtotal_minor, tax_minor, shipping_minor,
    shipping_address, payment_token, payment_id, status_reason, version, created_at, updated_at
"""
# The order and its lines (as a JSON array of [product_id, name, quantity, unit_price]).
_GET_SQL = f"""
SELECT {_ORDER_COLUMNS},
    COALESCE((SELECT json_agg(json_build_array(product_id, name, quantity, unit_price_minor)
                              ORDER BY line_no)
              FROM order_lines WHERE order_id = orders.id), '[]') AS lines
FROM orders WHERE id = $1
"""
# The key is claimed first; everything else is inserted from its RETURNING row, so nothing
# is written when a concurrent request already holds the key (the statement returns false).
_CREATE_SQL = f"""
WITH claimed AS (
    INSERT INTO order_idempotency_keys (user_id, key, request_hash, order_id, created_at)
    VALUES ($1, $2, $3, $4, $17) ON CONFLICT DO NOTHING
    RETURNING order_id
), inserted AS (
    INSERT INTO orders ({_ORDER_COLUMNS}, total_minor)
    SELECT order_id, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15, $16, $17, $18, $19
    FROM claimed
    RETURNING id
), lines AS (
    INSERT INTO order_lines (order_id, line_no, product_id, name, quantity, unit_price_minor)
    SELECT inserted.id, line.*
    FROM inserted,
        unnest($20::integer[], $21::text[], $22::text[], $23::integer[], $24::bigint[])
            AS line(line_no, product_id, name, quantity, unit_price_minor)
), logged AS (
    INSERT INTO order_saga_log (order_id, from_step, to_step, status, at)
    SELECT id, NULL, $7, $6, $18 FROM inserted
)
SELECT EXISTS (SELECT 1 FROM claimed)
"""
# The conditional update (the order must still be at the expected step and version) and the
# saga log row, as one statement; no row when the order moved on.
_APPLY_SQL = """
WITH moved AS (
    UPDATE orders SET status = $3, saga_step = $4, payment_token = $5, payment_id = $6,
        status_reason = $7, version = $8, updated_at = $9
    WHERE id = $1 AND saga_step = $2 AND version = $8 - 1
    RETURNING id
), logged AS (
    INSERT INTO order_saga_log (order_id, from_step, to_step, status, at)
    SELECT id, $2, $4, $3, $9 FROM moved
)
SELECT id FROM moved
"""


Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


class OutboxWriter(Protocol):
    """Queues an event in the caller's transaction (the runtime's outbox, in production)."""

    async def __call__(self, conn: Connection, event: OrderEvent) -> None: ...


class PostgresOrderStore(OrderStore):
    def __init__(self, pool: asyncpg.Pool, outbox: OutboxWriter) -> None:
        self._pool = pool
        self._outbox = outbox
        # Inside saga_lock, the saga's reads and writes use the connection holding the lock,
        # so a saga never needs a second connection (no pool starvation under load).
        self._locked_conn: ContextVar[Connection | None] = ContextVar(
            "order_saga_connection", default=None
        )

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        conn = self._locked_conn.get()
        if conn is not None:
            yield conn
            return
        async with self._pool.acquire() as conn:
            yield conn

    async def idempotency_record(self, user_id: str, key: str) -> IdempotencyRecord | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(
                "SELECT user_id, key, request_hash, order_id FROM order_idempotency_keys"
                " WHERE user_id = $1 AND key = $2",
                user_id,
                key,
            )
        return None if row is None else IdempotencyRecord(**dict(row))

    async def create(self, order: Order, idempotency: IdempotencyRecord) -> None:
        # One statement, so one round trip and atomic: the key is claimed first (waiting for a
        # concurrent insert of the same key, then yielding to it), and the order, its lines
        # and the first saga log row are inserted only from the claimed key's row.
        async with self._connection() as conn:
            claimed = await conn.fetchval(_CREATE_SQL, *_create_arguments(order, idempotency))
        if not claimed:
            existing = await self.idempotency_record(idempotency.user_id, idempotency.key)
            if existing is None:  # pragma: no cover - keys are never deleted
                raise RuntimeError(f"idempotency key {idempotency.key} vanished")
            raise IdempotencyConflict(existing)

    async def get(self, order_id: str) -> Order | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(_GET_SQL, order_id)
        if row is None:
            return None
        lines = [OrderLine(*line) for line in json.loads(row["lines"])]
        return _order(row, lines)

    async def apply(self, transition: Transition) -> Order:
        order = transition.order
        arguments = _apply_arguments(transition)
        async with self._connection() as conn:
            if not transition.events:
                # The conditional update and its log row in one statement: one round trip.
                moved = await conn.fetchval(_APPLY_SQL, *arguments)
            else:
                async with conn.transaction():
                    moved = await conn.fetchval(_APPLY_SQL, *arguments)
                    if moved is not None:
                        for event in transition.events:
                            await self._outbox(conn, event)
        if moved is None:
            raise StaleSagaState(order.id)
        return order

    async def list_orders(
        self, query: OrderQuery, limit: int, after: PageCursor | None
    ) -> Sequence[Order]:
        where, args = _filter(query)
        if after is not None:
            args += [after.created_at, after.order_id]
            where.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
        args.append(limit)
        sql = (
            f"SELECT {_ORDER_COLUMNS} FROM orders {_where(where)}"
            f" ORDER BY created_at DESC, id DESC LIMIT ${len(args)}"
        )
        async with self._connection() as conn:
            return await self._with_lines(conn, await conn.fetch(sql, *args))

    async def count(self, query: OrderQuery) -> int:
        where, args = _filter(query)
        async with self._connection() as conn:
            total = await conn.fetchval(f"SELECT count(*) FROM orders {_where(where)}", *args)
        return int(total)

    async def unfinished(self, updated_before: datetime, limit: int) -> Sequence[str]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                "SELECT id FROM orders WHERE saga_step <> ALL($1::text[]) AND updated_at < $2"
                " ORDER BY updated_at LIMIT $3",
                _FINISHED_STEPS,
                updated_before,
                limit,
            )
        return [row["id"] for row in rows]

    async def paid_order_with(self, user_id: str, product_id: str) -> str | None:
        async with self._connection() as conn:
            order_id: str | None = await conn.fetchval(
                "SELECT o.id FROM orders o JOIN order_lines l ON l.order_id = o.id"
                " WHERE o.user_id = $1 AND l.product_id = $2 AND o.status = $3"
                " AND o.saga_step <> $4 ORDER BY o.created_at LIMIT 1",
                user_id,
                product_id,
                OrderStatus.PAID.value,
                SagaStep.REFUNDING.value,
            )
        return order_id

    @asynccontextmanager
    async def saga_lock(self, order_id: str, *, wait: bool) -> AsyncIterator[bool]:
        # A connection-level advisory lock: released on unlock, and by PostgreSQL itself when the
        # connection dies with its process, so a crashed runner never blocks recovery.
        key = _lock_key(order_id)
        async with self._pool.acquire() as conn:
            if wait:
                await conn.execute("SELECT pg_advisory_lock($1)", key)
                acquired = True
            else:
                acquired = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
            bound = self._locked_conn.set(conn if acquired else None)
            try:
                yield acquired
            finally:
                self._locked_conn.reset(bound)
                if acquired:
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)

    async def _with_lines(self, conn: Connection, rows: Sequence[asyncpg.Record]) -> list[Order]:
        if not rows:
            return []
        line_rows = await conn.fetch(
            "SELECT order_id, product_id, name, quantity, unit_price_minor FROM order_lines"
            " WHERE order_id = ANY($1::text[]) ORDER BY order_id, line_no",
            [row["id"] for row in rows],
        )
        lines: dict[str, list[OrderLine]] = {}
        for line in line_rows:
            lines.setdefault(line["order_id"], []).append(
                OrderLine(
                    line["product_id"], line["name"], line["quantity"], line["unit_price_minor"]
                )
            )
        return [_order(row, lines.get(row["id"], [])) for row in rows]


def _order(row: asyncpg.Record, lines: list[OrderLine]) -> Order:
    address: dict[str, Any] = json.loads(row["shipping_address"])
    return Order(
        id=row["id"],
        user_id=row["user_id"],
        status=OrderStatus(row["status"]),
        saga_step=SagaStep(row["saga_step"]),
        lines=tuple(lines),
        totals=Totals(row["subtotal_minor"], row["tax_minor"], row["shipping_minor"]),
        currency=row["currency"],
        shipping_address=Address(**address),
        payment_token=row["payment_token"],
        payment_id=row["payment_id"],
        status_reason=row["status_reason"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _create_arguments(order: Order, key: IdempotencyRecord) -> list[Any]:
    numbers = list(range(1, len(order.lines) + 1))
    return [
        key.user_id,
        key.key,
        key.request_hash,
        order.id,
        order.user_id,
        order.status.value,
        order.saga_step.value,
        order.currency,
        order.totals.subtotal,
        order.totals.tax,
        order.totals.shipping,
        json.dumps(asdict(order.shipping_address)),
        order.payment_token,
        order.payment_id,
        order.status_reason,
        order.version,
        order.created_at,
        order.updated_at,
        order.totals.total,
        numbers,
        [line.product_id for line in order.lines],
        [line.name for line in order.lines],
        [line.quantity for line in order.lines],
        [line.unit_price for line in order.lines],
    ]


def _apply_arguments(transition: Transition) -> list[Any]:
    order = transition.order
    return [
        order.id,
        transition.expected.value,
        order.status.value,
        order.saga_step.value,
        order.payment_token,
        order.payment_id,
        order.status_reason,
        order.version,
        order.updated_at,
    ]


def _filter(query: OrderQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if query.user_id is not None:
        args.append(query.user_id)
        where.append(f"user_id = ${len(args)}")
    if query.status is not None:
        args.append(query.status.value)
        where.append(f"status = ${len(args)}")
    return where, args


def _where(conditions: list[str]) -> str:
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


def _lock_key(order_id: str) -> int:
    digest = hashlib.sha256(f"order-saga:{order_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
