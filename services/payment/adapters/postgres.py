"""The payment ledger on PostgreSQL (asyncpg). Events go to the outbox in the same transaction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ..domain.events import PaymentEvent
from ..domain.model import Payment, PaymentStatus, Refund
from ..service_layer.ports import ChargeSlot, PaymentStore, RefundKeyTakenError, RefundSlot

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
# Writes an event into the outbox on the given connection, inside the caller's transaction.
RecordEvent = Callable[[Connection, PaymentEvent], Awaitable[None]]

_PAYMENT_COLUMNS = (
    "id, idempotency_key, request_fingerprint, order_id, user_id, amount, currency, status,"
    " refunded_amount, failure_code, failure_message, provider_reference, created_at,"
    " updated_at, version"
)
_REFUND_COLUMNS = "id, payment_id, idempotency_key, amount, reason, provider_reference, created_at"


class PostgresPaymentStore(PaymentStore):
    def __init__(self, pool: asyncpg.Pool, record_event: RecordEvent) -> None:
        self._pool = pool
        self._record_event = record_event

    @asynccontextmanager
    async def charge_slot(self, pending: Payment) -> AsyncIterator[ChargeSlot]:
        async with self._pool.acquire() as conn, conn.transaction():
            # A racing request with the same key waits here until the first one commits,
            # then finds its settled row.
            await conn.execute(
                f"INSERT INTO payments ({_PAYMENT_COLUMNS}) VALUES"
                " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                " ON CONFLICT (idempotency_key) DO NOTHING",
                *_payment_values(pending),
            )
            row = await conn.fetchrow(
                f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE idempotency_key = $1 FOR UPDATE",
                pending.idempotency_key,
            )
            assert row is not None  # inserted above if it was missing
            payment = _payment(row, await _refunds_of(conn, row["id"]))
            yield _PostgresChargeSlot(conn, payment, self._record_event)

    @asynccontextmanager
    async def refund_slot(self, payment_id: str, idempotency_key: str) -> AsyncIterator[RefundSlot]:
        async with self._pool.acquire() as conn, conn.transaction():
            payment: Payment | None = None
            if _is_uuid(payment_id):
                row = await conn.fetchrow(
                    f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE id = $1 FOR UPDATE",
                    uuid.UUID(payment_id),
                )
                if row is not None:
                    payment = _payment(row, await _refunds_of(conn, row["id"]))
            existing_row = await conn.fetchrow(
                f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE idempotency_key = $1",
                idempotency_key,
            )
            existing = _refund(existing_row) if existing_row else None
            yield _PostgresRefundSlot(conn, payment, existing, self._record_event)

    async def get(self, payment_id: str) -> Payment | None:
        if not _is_uuid(payment_id):
            return None
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE id = $1", uuid.UUID(payment_id)
            )
            if row is None:
                return None
            return _payment(row, await _refunds_of(conn, row["id"]))


class _PostgresChargeSlot(ChargeSlot):
    def __init__(self, conn: Connection, payment: Payment, record_event: RecordEvent) -> None:
        self._conn = conn
        self.payment = payment
        self._record_event = record_event

    async def settle(self, payment: Payment, event: PaymentEvent) -> None:
        await self._conn.execute(
            "UPDATE payments SET status = $2, failure_code = $3, failure_message = $4,"
            " provider_reference = $5, updated_at = $6, version = $7 WHERE id = $1",
            uuid.UUID(payment.id),
            payment.status.value,
            payment.failure_code,
            payment.failure_message,
            payment.provider_reference,
            payment.updated_at,
            payment.version,
        )
        await self._record_event(self._conn, event)
        self.payment = payment


class _PostgresRefundSlot(RefundSlot):
    def __init__(
        self,
        conn: Connection,
        payment: Payment | None,
        existing: Refund | None,
        record_event: RecordEvent,
    ) -> None:
        self._conn = conn
        self.payment = payment
        self.existing = existing
        self._record_event = record_event

    async def record(self, payment: Payment, refund: Refund, event: PaymentEvent) -> None:
        try:
            async with self._conn.transaction():
                await self._conn.execute(
                    f"INSERT INTO refunds ({_REFUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    uuid.UUID(refund.id),
                    uuid.UUID(refund.payment_id),
                    refund.idempotency_key,
                    refund.amount,
                    refund.reason,
                    refund.provider_reference,
                    refund.created_at,
                )
        except asyncpg.UniqueViolationError:
            raise RefundKeyTakenError(refund.idempotency_key) from None
        await self._conn.execute(
            "UPDATE payments SET status = $2, refunded_amount = $3, updated_at = $4, version = $5"
            " WHERE id = $1",
            uuid.UUID(payment.id),
            payment.status.value,
            payment.refunded_amount,
            payment.updated_at,
            payment.version,
        )
        await self._record_event(self._conn, event)
        self.payment = payment


async def _refunds_of(conn: Connection, payment_id: uuid.UUID) -> tuple[Refund, ...]:
    rows = await conn.fetch(
        f"SELECT {_REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 ORDER BY created_at, id",
        payment_id,
    )
    return tuple(_refund(row) for row in rows)


def _payment_values(payment: Payment) -> tuple[Any, ...]:
    return (
        uuid.UUID(payment.id),
        payment.idempotency_key,
        payment.request_fingerprint,
        payment.order_id,
        payment.user_id,
        payment.amount,
        payment.currency,
        payment.status.value,
        payment.refunded_amount,
        payment.failure_code,
        payment.failure_message,
        payment.provider_reference,
        payment.created_at,
        payment.updated_at,
        payment.version,
    )


def _payment(row: asyncpg.Record, refunds: tuple[Refund, ...]) -> Payment:
    return Payment(
        id=str(row["id"]),
        idempotency_key=row["idempotency_key"],
        request_fingerprint=row["request_fingerprint"],
        order_id=row["order_id"],
        user_id=row["user_id"],
        amount=row["amount"],
        currency=row["currency"],
        status=PaymentStatus(row["status"]),
        refunded_amount=row["refunded_amount"],
        failure_code=row["failure_code"],
        failure_message=row["failure_message"],
        provider_reference=row["provider_reference"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        refunds=refunds,
    )


def _refund(row: asyncpg.Record) -> Refund:
    return Refund(
        id=str(row["id"]),
        payment_id=str(row["payment_id"]),
        idempotency_key=row["idempotency_key"],
        amount=row["amount"],
        reason=row["reason"],
        provider_reference=row["provider_reference"],
        created_at=row["created_at"],
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
