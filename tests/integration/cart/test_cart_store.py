"""The cart's limits as the Lua scripts enforce them on a real Valkey.

The unit tests' fake store repeats these rules; here the real scripts are held to them, so a
script that stopped checking a limit fails a test.
"""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from mesh.errors import FailedPreconditionError, NotFoundError
from services.cart.adapters.redis_store import OUTBOX_STREAM, RedisCartStore
from services.cart.domain.limits import MAX_LINES, MAX_QUANTITY
from services.cart.domain.model import CartEvent, CartLine, Money

from .cart_harness import new_user

pytestmark = pytest.mark.integration

PRICE = Money(1299, "USD")


@pytest.fixture
def store(redis: Redis) -> RedisCartStore:
    return RedisCartStore(redis, ttl_seconds=60)


async def add(store: RedisCartStore, user: str, product: str, units: int, stock: int = 1000) -> int:
    line = CartLine(product, units, product.title(), PRICE)
    added = CartEvent.item_added(user, product, PRICE)
    return await store.add(user, line, inventory=stock, event=added)


async def quantities(store: RedisCartStore, user: str) -> dict[str, int]:
    return {line.product_id: line.quantity for line in (await store.get(user)).lines}


async def test_a_line_holds_at_most_99_units_and_a_refused_add_changes_nothing(
    store: RedisCartStore, redis: Redis
) -> None:
    user = new_user()
    assert await add(store, user, "mug", MAX_QUANTITY - 1) == 98
    recorded = await redis.xlen(OUTBOX_STREAM)
    with pytest.raises(FailedPreconditionError) as over:
        await add(store, user, "mug", 2)
    assert over.value.reason == "LINE_QUANTITY_LIMIT"
    assert "the line has 98" in str(over.value)
    assert await quantities(store, user) == {"mug": 98}
    assert await redis.xlen(OUTBOX_STREAM) == recorded
    assert await add(store, user, "mug", 1) == MAX_QUANTITY
    with pytest.raises(FailedPreconditionError) as full_line:
        await add(store, user, "mug", 1)
    assert full_line.value.reason == "LINE_QUANTITY_LIMIT"
    assert await quantities(store, user) == {"mug": 99}


async def test_a_cart_holds_at_most_50_lines_but_its_lines_still_grow(
    store: RedisCartStore,
) -> None:
    user = new_user()
    for i in range(MAX_LINES):
        await add(store, user, f"p{i}", 1)
    with pytest.raises(FailedPreconditionError) as full:
        await add(store, user, "one-too-many", 1)
    assert full.value.reason == "CART_LINE_LIMIT"
    assert await add(store, user, "p0", 2) == 3
    held = await quantities(store, user)
    assert len(held) == MAX_LINES and "one-too-many" not in held and held["p0"] == 3
    # Removing a line makes room again: the script's line count follows removals.
    assert await store.remove(user, "p1", event=CartEvent.item_removed(user, "p1", PRICE))
    assert await add(store, user, "one-too-many", 1) == 1


async def test_adds_never_exceed_the_stock_they_were_given(store: RedisCartStore) -> None:
    user = new_user()
    assert await add(store, user, "cup", 2, stock=3) == 2
    with pytest.raises(FailedPreconditionError) as short:
        await add(store, user, "cup", 2, stock=3)
    assert short.value.reason == "INSUFFICIENT_STOCK"
    assert await quantities(store, user) == {"cup": 2}


async def test_set_quantity_checks_stock_only_when_raising_and_needs_the_line(
    store: RedisCartStore,
) -> None:
    user = new_user()
    added = CartEvent.item_added(user, "mug", PRICE)
    removed = CartEvent.item_removed(user, "mug", PRICE)

    async def set_to(units: int, stock: int) -> None:
        line = CartLine("mug", units, "Mug", PRICE)
        await store.set_quantity(user, line, inventory=stock, added=added, removed=removed)

    with pytest.raises(NotFoundError):
        await set_to(1, stock=10)
    await add(store, user, "mug", 5, stock=10)
    with pytest.raises(FailedPreconditionError) as short:
        await set_to(7, stock=6)
    assert short.value.reason == "INSUFFICIENT_STOCK"
    assert await quantities(store, user) == {"mug": 5}
    await set_to(2, stock=0)  # lowering a line is allowed even when the stock is gone
    assert await quantities(store, user) == {"mug": 2}
