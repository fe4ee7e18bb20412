"""Cart events as `shop.events.v1.Event` envelopes (topic shop.cart.events, key = user id)."""

from __future__ import annotations

from dataclasses import dataclass

from shop.events.v1 import events_pb2

from mesh.events import Event, new_event

from ..domain.model import CartEvent, CartEventKind
from .protos import money_to_proto

PRODUCER = "cart"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event as the store recorded it, with what only the atomic write knew."""

    entry_id: str
    event: bytes
    version: int
    quantity: int


def envelope_bytes(event: CartEvent) -> bytes:
    """The serialized envelope, version and units still unset.

    Built while the request is handled, so the envelope carries its trace and event id.
    """
    message = (
        events_pb2.CartItemAdded
        if event.kind is CartEventKind.ITEM_ADDED
        else events_pb2.CartItemRemoved
    )
    payload = message(
        user_id=event.user_id,
        product_id=event.product_id,
        unit_price=money_to_proto(event.unit_price),
    )
    envelope = new_event(
        payload,
        aggregate_type="cart",
        aggregate_id=event.user_id,
        aggregate_version=0,
        producer=PRODUCER,
    )
    return envelope.SerializeToString()


def completed(entry: OutboxEntry) -> Event:
    """The envelope to publish: the recorded one with the write's version and units."""
    event = Event.FromString(entry.event)
    event.aggregate_version = entry.version
    payload = (
        event.cart_item_added if event.HasField("cart_item_added") else event.cart_item_removed
    )
    payload.quantity = entry.quantity
    return event
