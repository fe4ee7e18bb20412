"""The PostgreSQL order store's SQL on a real server: steps, keys, paging, purchases, locks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from launcher.testing import DatabaseFactory
from mesh.events import MIGRATIONS
from mesh.migrations import apply_migrations, load_migrations
from services.order.adapters.postgres import Connection, PostgresOrderStore
from services.order.domain.idempotency import IdempotencyRecord
from services.order.domain.model import Address, Order, OrderEvent, OrderLine, OrderStatus
from services.order.domain.pricing import PricingPolicy
from services.order.service_layer.store import (
    IdempotencyConflict,
    OrderQuery,
    PageCursor,
    StaleSagaState,
)

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ADDRESS = Address("Ada", "1 Main St", "", "Springfield", "", "12345", "US")


class RecordingOutbox:
    def __init__(self) -> None:
        self.events: list[OrderEvent] = []

    async def __call__(self, conn: Connection, event: OrderEvent) -> None:
        self.events.append(event)


@pytest.fixture
async def pool(postgres_dsn: DatabaseFactory) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(postgres_dsn(), min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await apply_migrations(conn, [*MIGRATIONS, *load_migrations("services.order")])
    yield pool
    await pool.close()


def new_order(order_id: str, user_id: str = "ada", minutes: int = 0) -> Order:
    return Order.start(
        order_id=order_id,
        user_id=user_id,
        lines=[OrderLine("mug", "Mug", 2, 1250), OrderLine("tee", "Tee", 1, 2000)],
        currency="USD",
        shipping_address=ADDRESS,
        payment_token="tok_visa",
        policy=PricingPolicy(825, 499, 5000),
        now=T0 + timedelta(minutes=minutes),
    )


async def create(store: PostgresOrderStore, order: Order, key: str | None = None) -> None:
    record = IdempotencyRecord(order.user_id, key or f"key-{order.id}", "hash", order.id)
    await store.create(order, record)


async def paid(store: PostgresOrderStore, order: Order) -> Order:
    order = await store.apply(order.stock_reserved(T0))
    order = await store.apply(order.charging(T0))
    return await store.apply(order.paid("pay-1", T0))


async def test_an_order_round_trips_with_its_lines_and_address(pool: asyncpg.Pool) -> None:
    store = PostgresOrderStore(pool, RecordingOutbox())
    order = new_order("o1")
    await create(store, order)
    assert await store.get("o1") == order
    assert await store.get("missing") is None


async def test_a_step_applies_once_and_queues_its_events(pool: asyncpg.Pool) -> None:
    outbox = RecordingOutbox()
    store = PostgresOrderStore(pool, outbox)
    order = new_order("o1")
    await create(store, order)
    transition = order.stock_reserved(T0)

    assert await store.apply(transition) == transition.order
    with pytest.raises(StaleSagaState):
        await store.apply(transition)
    assert [event.type.value for event in outbox.events] == ["OrderPlaced"]
    log = await pool.fetch("SELECT from_step, to_step FROM order_saga_log ORDER BY id")
    assert [tuple(row) for row in log] == [(None, "STARTED"), ("STARTED", "STOCK_RESERVED")]


async def test_a_taken_key_reports_the_order_that_holds_it(pool: asyncpg.Pool) -> None:
    store = PostgresOrderStore(pool, RecordingOutbox())
    await create(store, new_order("o1"), key="k")
    with pytest.raises(IdempotencyConflict) as raised:
        await create(store, new_order("o2"), key="k")
    assert raised.value.existing.order_id == "o1"
    assert await store.get("o2") is None, "the loser's order is rolled back"
    await create(store, new_order("o3", user_id="bob"), key="k")  # keys are per user


async def test_pages_are_newest_first_filtered_and_counted(pool: asyncpg.Pool) -> None:
    store = PostgresOrderStore(pool, RecordingOutbox())
    for n in range(5):
        await create(store, new_order(f"o{n}", minutes=n))
    await create(store, new_order("bob1", user_id="bob", minutes=9))
    await paid(store, new_order("o3", minutes=3))

    first = await store.list_orders(OrderQuery(user_id="ada"), 2, None)
    cursor = PageCursor(first[-1].created_at, first[-1].id)
    second = await store.list_orders(OrderQuery(user_id="ada"), 2, cursor)
    assert [o.id for o in [*first, *second]] == ["o4", "o3", "o2", "o1"]
    assert await store.count(OrderQuery(user_id="ada")) == 5
    assert await store.count(OrderQuery()) == 6
    paid_only = await store.list_orders(OrderQuery(status=OrderStatus.PAID), 10, None)
    assert [o.id for o in paid_only] == ["o3"]


async def test_purchases_and_unfinished_sagas(pool: asyncpg.Pool) -> None:
    store = PostgresOrderStore(pool, RecordingOutbox())
    await create(store, new_order("o1", minutes=5))
    await create(store, new_order("o2"))
    order = await paid(store, new_order("o2"))  # its steps are stamped T0: the oldest
    later = T0 + timedelta(hours=1)

    assert await store.unfinished(later, 10) == ["o2", "o1"]
    assert await store.unfinished(T0 + timedelta(minutes=1), 10) == ["o2"], "grace respected"
    assert await store.paid_order_with("ada", "mug") == "o2"
    assert await store.paid_order_with("ada", "sock") is None

    order = await store.apply(order.cart_cleared(T0))
    assert await store.unfinished(later, 10) == ["o1"]
    await store.apply(order.request_cancel("changed my mind", T0))
    assert await store.paid_order_with("ada", "mug") is None, "a cancelling order is no purchase"


async def test_the_saga_lock_is_exclusive_across_connections(pool: asyncpg.Pool) -> None:
    store = PostgresOrderStore(pool, RecordingOutbox())
    await create(store, new_order("o1"))
    async with store.saga_lock("o1", wait=True) as held:
        assert held
        async with store.saga_lock("o1", wait=False) as second:
            assert not second
        waiter = asyncio.create_task(_hold(store, "o1"))
        await asyncio.sleep(0.2)
        assert not waiter.done(), "a waiting runner blocks until the lock is free"
    assert await asyncio.wait_for(waiter, 5)


async def _hold(store: PostgresOrderStore, order_id: str) -> bool:
    async with store.saga_lock(order_id, wait=True) as held:
        return held
