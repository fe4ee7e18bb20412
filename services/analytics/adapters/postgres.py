"""The analytics store on PostgreSQL (asyncpg).

Writes go through the connection of the event being handled (`current_transaction()`), so
they commit together with the event's processed mark: an event counts once or not at all.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

import asyncpg

from mesh.events import current_transaction

from ..domain.facts import (
    CartAdd,
    CheckoutStarted,
    Fact,
    OrderCancelled,
    OrderPaid,
    OrderPaymentFailed,
    OrderRecord,
    PaymentRefunded,
    PaymentSettled,
    ProductChanged,
)
from ..domain.reports import DateRange, ProductSales, TopMetric
from ..service_layer.ports import AnalyticsStore

# Paid, not cancelled, in the currency and range asked for ($1 currency, $2/$3 bounds).
_COUNTED_ORDERS: Final = (
    "o.currency = $1 AND o.paid_at >= $2 AND o.paid_at < $3 AND o.cancelled_at IS NULL"
)
_RANKING: Final = {
    TopMetric.REVENUE: "revenue DESC, units DESC",
    TopMetric.UNITS: "units DESC, revenue DESC",
}


class PostgresAnalyticsStore(AnalyticsStore):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def apply(self, fact: Fact, event_id: str, occurred_at: datetime) -> None:
        conn = current_transaction()
        if conn is None:
            raise RuntimeError("analytics writes belong in the transaction of a handled event")
        match fact:
            case CheckoutStarted(order=order):
                await _order_moment(conn, order, "placed_at", occurred_at)
                await _funnel(conn, event_id, "checkout", occurred_at)
            case OrderPaid(order=order):
                await _order_moment(conn, order, "paid_at", occurred_at)
                await _funnel(conn, event_id, "paid", occurred_at)
            case OrderPaymentFailed(order=order):
                await _order_moment(conn, order, "payment_failed_at", occurred_at)
            case OrderCancelled(order=order):
                await _order_moment(conn, order, "cancelled_at", occurred_at)
            case CartAdd():
                await _funnel(conn, event_id, "cart_add", occurred_at)
            case PaymentSettled():
                await conn.execute(
                    "INSERT INTO payments "
                    "(payment_id, order_id, outcome, currency, amount_minor, settled_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (payment_id) DO NOTHING",
                    fact.payment_id,
                    fact.order_id,
                    fact.outcome,
                    fact.currency,
                    fact.amount,
                    occurred_at,
                )
            case PaymentRefunded():
                await conn.execute(
                    "INSERT INTO order_refunds (order_id, currency, refunded_minor) "
                    "VALUES ($1, $2, $3) ON CONFLICT (order_id) DO UPDATE "
                    "SET refunded_minor = GREATEST(order_refunds.refunded_minor, "
                    "                              EXCLUDED.refunded_minor)",
                    fact.order_id,
                    fact.currency,
                    fact.refunded_total,
                )
            case ProductChanged():
                await conn.execute(
                    "INSERT INTO products (product_id, name, category, version, deleted) "
                    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (product_id) DO UPDATE "
                    "SET name = CASE WHEN EXCLUDED.deleted THEN products.name "
                    "                ELSE EXCLUDED.name END, "
                    "    category = CASE WHEN EXCLUDED.deleted THEN products.category "
                    "                    ELSE EXCLUDED.category END, "
                    "    version = EXCLUDED.version, deleted = EXCLUDED.deleted "
                    "WHERE products.version < EXCLUDED.version",
                    fact.product_id,
                    fact.name,
                    fact.category,
                    fact.version,
                    fact.deleted,
                )

    async def sales_by_day(self, period: DateRange, currency: str) -> dict[date, tuple[int, int]]:
        rows = await self._pool.fetch(
            "SELECT (o.paid_at AT TIME ZONE 'UTC')::date AS day, count(*) AS orders, "
            "       sum(o.total_minor - COALESCE(r.refunded_minor, 0))::bigint AS revenue "
            "FROM orders o LEFT JOIN order_refunds r ON r.order_id = o.order_id "
            f"WHERE {_COUNTED_ORDERS} GROUP BY day",
            currency,
            period.since,
            period.until,
        )
        return {row["day"]: (int(row["orders"]), int(row["revenue"])) for row in rows}

    async def top_products(
        self, period: DateRange, currency: str, metric: TopMetric, limit: int
    ) -> list[ProductSales]:
        rows = await self._pool.fetch(
            # The name when last sold; the catalog's name when the order had none.
            "SELECT l.product_id, COALESCE(NULLIF((array_agg(l.name ORDER BY o.paid_at DESC))[1], "
            "           ''), max(p.name), '') AS name, "
            "       sum(l.quantity)::bigint AS units, sum(l.line_total_minor)::bigint AS revenue "
            "FROM order_lines l JOIN orders o ON o.order_id = l.order_id "
            "LEFT JOIN products p ON p.product_id = l.product_id "
            f"WHERE {_COUNTED_ORDERS} GROUP BY l.product_id "
            f"ORDER BY {_RANKING[metric]}, l.product_id LIMIT $4",
            currency,
            period.since,
            period.until,
            limit,
        )
        return [
            ProductSales(row["product_id"], row["name"], int(row["units"]), int(row["revenue"]))
            for row in rows
        ]

    async def funnel_counts(self, period: DateRange) -> tuple[int, int, int]:
        rows = await self._pool.fetch(
            "SELECT step, count(*) AS n FROM funnel_events "
            "WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY step",
            period.since,
            period.until,
        )
        counts = {row["step"]: int(row["n"]) for row in rows}
        return counts.get("cart_add", 0), counts.get("checkout", 0), counts.get("paid", 0)


_MOMENTS: Final = frozenset({"placed_at", "paid_at", "payment_failed_at", "cancelled_at"})


async def _order_moment(conn: Any, order: OrderRecord, column: str, at: datetime) -> None:
    """Upserts the order and keeps the first time `column` happened."""
    assert column in _MOMENTS
    await conn.execute(
        f"INSERT INTO orders (order_id, user_id, currency, total_minor, {column}) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO UPDATE "
        f"SET {column} = COALESCE(orders.{column}, EXCLUDED.{column}), "
        "    currency = EXCLUDED.currency, total_minor = EXCLUDED.total_minor",
        order.order_id,
        order.user_id,
        order.currency,
        order.total,
        at,
    )
    await conn.executemany(
        "INSERT INTO order_lines (order_id, product_id, name, quantity, line_total_minor) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, product_id) DO NOTHING",
        [
            (order.order_id, line.product_id, line.name, line.quantity, line.line_total)
            for line in order.lines
        ],
    )


async def _funnel(conn: Any, event_id: str, step: str, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO funnel_events (event_id, step, occurred_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (event_id) DO NOTHING",
        event_id,
        step,
        at,
    )
