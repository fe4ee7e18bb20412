"""Ledger events as `shop.events.v1` envelopes, written to the outbox with the change."""

from __future__ import annotations

from shop.events.v1 import events_pb2

from mesh.events import Event, Outbox, new_event

from ..domain.events import (
    PaymentEvent,
    PaymentFailed,
    PaymentRefunded,
    PaymentSucceeded,
)
from .postgres import Connection
from .protos import payment_message, refund_message

PRODUCER = "payment"


def envelope(event: PaymentEvent) -> Event:
    payment = event.payment
    payload: events_pb2.PaymentSucceeded | events_pb2.PaymentFailed | events_pb2.PaymentRefunded
    match event:
        case PaymentSucceeded():
            payload = events_pb2.PaymentSucceeded(payment=payment_message(payment))
        case PaymentFailed():
            payload = events_pb2.PaymentFailed(payment=payment_message(payment))
        case PaymentRefunded(refund=refund):
            payload = events_pb2.PaymentRefunded(
                payment=payment_message(payment), refund=refund_message(refund, payment.currency)
            )
    return new_event(
        payload,
        aggregate_type="payment",
        aggregate_id=payment.id,
        aggregate_version=payment.version,
        producer=PRODUCER,
        occurred_at=payment.updated_at,
    )


class OutboxEvents:
    """The store's `RecordEvent`: envelopes the event and adds it to the outbox."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def __call__(self, conn: Connection, event: PaymentEvent) -> None:
        await self._outbox.add(conn, envelope(event))
