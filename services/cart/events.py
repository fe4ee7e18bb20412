"""Cart writes as `shop.events.v1.Event` envelopes (topic shop.cart.events, key = user id)."""

from __future__ import annotations

from shop.events.v1 import events_pb2

from mesh.events import Event, new_event
from services.cart.adapters.repository import OutboxEntry, PendingEvent
from services.cart.convert import money_to_proto
from services.cart.domain import Money

PRODUCER = "cart"


def item_added(user_id: str, product_id: str, unit_price: Money) -> PendingEvent:
    payload = events_pb2.CartItemAdded(
        user_id=user_id, product_id=product_id, unit_price=money_to_proto(unit_price)
    )
    return _pending(user_id, payload)


def item_removed(user_id: str, product_id: str, unit_price: Money) -> PendingEvent:
    payload = events_pb2.CartItemRemoved(
        user_id=user_id, product_id=product_id, unit_price=money_to_proto(unit_price)
    )
    return _pending(user_id, payload)


def _pending(
    user_id: str, payload: events_pb2.CartItemAdded | events_pb2.CartItemRemoved
) -> PendingEvent:
    # Built in the request's context so the event carries its trace; the store fills in the
    # cart's version and the units, which only the atomic write knows.
    event = new_event(
        payload, aggregate_type="cart", aggregate_id=user_id, aggregate_version=0, producer=PRODUCER
    )
    return PendingEvent(event.SerializeToString())


def completed(entry: OutboxEntry) -> Event:
    event = Event.FromString(entry.event)
    event.aggregate_version = entry.version
    payload = (
        event.cart_item_added if event.HasField("cart_item_added") else event.cart_item_removed
    )
    payload.quantity = entry.quantity
    return event
