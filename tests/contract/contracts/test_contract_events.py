"""Every domain event travels in the shop.events.v1.Event envelope."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from shop.events.v1 import events_pb2

ENVELOPE = events_pb2.Event.DESCRIPTOR
EVENT_FILE = events_pb2.DESCRIPTOR


def test_every_event_message_is_carried_by_the_envelope() -> None:
    payload = ENVELOPE.oneofs_by_name["payload"]
    carried = [field.message_type.full_name for field in payload.fields if field.message_type]
    assert len(carried) == len(payload.fields), "every payload member is a message"
    events = [
        message.full_name
        for message in EVENT_FILE.message_types_by_name.values()
        if message is not ENVELOPE
    ]
    assert sorted(carried) == sorted(events)
    assert len(set(carried)) == len(carried), "an event type appears twice in the payload"


def test_envelope_fields() -> None:
    expected = {
        "event_id": FieldDescriptor.TYPE_STRING,
        "event_type": FieldDescriptor.TYPE_STRING,
        "occurred_at": FieldDescriptor.TYPE_MESSAGE,
        "aggregate_type": FieldDescriptor.TYPE_STRING,
        "aggregate_id": FieldDescriptor.TYPE_STRING,
        "aggregate_version": FieldDescriptor.TYPE_INT64,
        "trace_parent": FieldDescriptor.TYPE_STRING,
        "trace_state": FieldDescriptor.TYPE_STRING,
    }
    for name, field_type in expected.items():
        assert ENVELOPE.fields_by_name[name].type == field_type, name
    timestamp = ENVELOPE.fields_by_name["occurred_at"].message_type
    assert timestamp is not None and timestamp.full_name == "google.protobuf.Timestamp"


def test_the_events_the_services_publish_exist() -> None:
    names = set(EVENT_FILE.message_types_by_name)
    assert {
        "UserRegistered",
        "UserUpdated",
        "ProductCreated",
        "ProductUpdated",
        "ProductDeleted",
        "StockChanged",
        "CartItemAdded",
        "CartItemRemoved",
        "OrderPlaced",
        "OrderPaid",
        "OrderPaymentFailed",
        "OrderCancelled",
        "PaymentSucceeded",
        "PaymentFailed",
        "PaymentRefunded",
        "ReviewCreated",
        "ReviewDeleted",
    } <= names


def test_an_event_round_trips_through_the_envelope() -> None:
    event = events_pb2.Event(
        event_id="0b0f6a3e-2d5c-4c59-9f1e-3f7f4c1f2a10",
        event_type="shop.events.v1.StockChanged",
        aggregate_type="product",
        aggregate_id="p1",
        aggregate_version=3,
        stock_changed=events_pb2.StockChanged(product_id="p1", inventory=7, delta=-1, version=3),
    )
    decoded = events_pb2.Event.FromString(event.SerializeToString())
    assert decoded.WhichOneof("payload") == "stock_changed"
    assert decoded.stock_changed.inventory == 7
