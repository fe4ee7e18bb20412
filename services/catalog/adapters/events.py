"""Product changes as `shop.events.v1.Event` envelopes (topic shop.product.events)."""

from __future__ import annotations

from google.protobuf import field_mask_pb2, message
from shop.events.v1 import events_pb2

from mesh.events import Event, new_event

from ..domain.changes import ChangeKind, ProductChange
from .protos import product_to_proto

PRODUCER = "catalog"
_STOCK_REASONS = {
    ChangeKind.STOCK_RESERVED: events_pb2.STOCK_CHANGE_REASON_RESERVED,
    ChangeKind.STOCK_RELEASED: events_pb2.STOCK_CHANGE_REASON_RELEASED,
    ChangeKind.STOCK_ADJUSTED: events_pb2.STOCK_CHANGE_REASON_ADJUSTED,
}


def encode_event(change: ProductChange) -> bytes:
    """What the store records with a change: its envelope, serialized."""
    return event_for(change).SerializeToString()


def event_for(change: ProductChange) -> Event:
    """The envelope of `change`, built in the request's context (it carries the trace)."""
    event = new_event(
        _payload(change),
        aggregate_type="product",
        aggregate_id=change.product_id,
        aggregate_version=change.version,
        producer=PRODUCER,
        occurred_at=change.occurred_at,
    )
    # The change's id, so every redelivery of it carries the same event id.
    event.event_id = change.event_id
    return event


def _payload(change: ProductChange) -> message.Message:
    if change.kind is ChangeKind.DELETED:
        return events_pb2.ProductDeleted(product_id=change.product_id, version=change.version)
    assert change.product is not None, f"{change.kind} changes carry the product"
    product = product_to_proto(change.product)
    if change.kind is ChangeKind.CREATED:
        return events_pb2.ProductCreated(product=product)
    if change.kind is ChangeKind.UPDATED:
        return events_pb2.ProductUpdated(
            product=product, update_mask=field_mask_pb2.FieldMask(paths=list(change.update_mask))
        )
    return events_pb2.StockChanged(
        product_id=change.product_id,
        inventory=change.product.inventory,
        delta=change.inventory_delta,
        order_id=change.order_id,
        version=change.version,
        reason=_STOCK_REASONS[change.kind],
    )
