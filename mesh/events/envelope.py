"""Building, naming and (de)serializing `shop.events.v1.Event` envelopes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

from google.protobuf import message
from opentelemetry import context as otel_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from shop.events.v1 import events_pb2

from mesh.clock import utc_now

__all__ = [
    "AGGREGATE_TYPES",
    "Event",
    "KafkaHeaders",
    "dlq_topic",
    "headers_for",
    "new_event",
    "topic_for",
    "trace_context_of",
]

Event = events_pb2.Event
KafkaHeaders = Sequence[tuple[str, bytes]]

AGGREGATE_TYPES: Final = ("user", "product", "cart", "order", "payment", "review")
_PROPAGATOR: Final = TraceContextTextMapPropagator()
# Payload message name -> the envelope's oneof field carrying it.
_PAYLOAD_FIELDS: Final[Mapping[str, str]] = {
    field.message_type.full_name: field.name
    for field in events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields
    if field.message_type is not None
}


def topic_for(aggregate_type: str) -> str:
    """One topic per aggregate type: `order` -> `shop.order.events`."""
    return f"shop.{aggregate_type}.events"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def new_event(
    payload: message.Message,
    *,
    aggregate_type: str,
    aggregate_id: str,
    aggregate_version: int,
    producer: str,
    occurred_at: datetime | None = None,
) -> events_pb2.Event:
    """An envelope around `payload` with a fresh event id and the current trace context."""
    if aggregate_type not in AGGREGATE_TYPES:
        raise ValueError(f"unknown aggregate type {aggregate_type!r}")
    type_name = payload.DESCRIPTOR.full_name
    field = _PAYLOAD_FIELDS.get(type_name)
    if field is None:
        raise ValueError(f"{type_name} is not a payload of shop.events.v1.Event")
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    event = events_pb2.Event(
        event_id=str(uuid.uuid4()),
        event_type=type_name,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        trace_parent=carrier.get("traceparent", ""),
        trace_state=carrier.get("tracestate", ""),
        producer=producer,
    )
    event.occurred_at.FromDatetime(occurred_at or utc_now())
    getattr(event, field).CopyFrom(payload)
    return event


def headers_for(event: events_pb2.Event) -> list[tuple[str, bytes]]:
    """Kafka headers: W3C trace context plus ids, so tools can route without parsing."""
    headers = [
        ("event_id", event.event_id.encode()),
        ("event_type", event.event_type.encode()),
    ]
    if event.trace_parent:
        headers.append(("traceparent", event.trace_parent.encode()))
    if event.trace_state:
        headers.append(("tracestate", event.trace_state.encode()))
    return headers


def trace_context_of(headers: KafkaHeaders | None) -> otel_context.Context:
    """The producer's trace context, to parent the consumer's span on it."""
    carrier = {key: value.decode("utf-8", "replace") for key, value in headers or ()}
    return _PROPAGATOR.extract(carrier)
