"""A cart write's event survives a failed publish: it stays in the stream until Kafka has it."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from mesh.events import Event, EventPublisher
from services.cart.adapters.outbox import OutboxRelay
from services.cart.adapters.redis_store import RedisCartStore
from services.cart.domain.model import CartEvent, CartLine, Money

from ..service_harness import read_events
from .cart_harness import new_user

pytestmark = pytest.mark.integration


class BrokenPublisher:
    async def publish(self, event: Event) -> None:
        raise ConnectionError("broker unreachable")


async def test_an_event_whose_publish_failed_is_published_by_the_retry(
    redis: Redis, kafka_bootstrap: str
) -> None:
    user = new_user()
    store = RedisCartStore(redis, ttl_seconds=60)
    await store.create_outbox_group()
    price = Money(1299, "USD")
    await store.add(
        user,
        CartLine("mug", 2, "Mug", price),
        inventory=10,
        event=CartEvent.item_added(user, "mug", price),
    )
    with pytest.raises(ConnectionError):
        await OutboxRelay(store, BrokenPublisher()).publish_pending()
    still_pending = [Event.FromString(entry.event) for entry in await store.pending_events(100)]
    assert user in {event.aggregate_id for event in still_pending}

    publisher = EventPublisher(kafka_bootstrap, client_id="cart-test")
    await publisher.start()
    try:
        relay = OutboxRelay(store, publisher)
        while await relay.publish_pending():
            pass
    finally:
        await publisher.stop()
    found = await read_events(
        kafka_bootstrap, "shop.cart.events", user, lambda found: len(found) >= 1
    )
    assert [(e.event_type, e.cart_item_added.quantity) for e in found] == [
        ("shop.events.v1.CartItemAdded", 2)
    ]
