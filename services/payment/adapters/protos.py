"""Ledger records as protobuf messages, for replies and for event payloads."""

from __future__ import annotations

from shop.payment.v1 import payment_pb2

from mesh.clock import to_timestamp
from mesh.money import from_minor_units

from ..domain.model import Payment, PaymentStatus, Refund

_STATUS = {
    PaymentStatus.PENDING: payment_pb2.PAYMENT_STATUS_PENDING,
    PaymentStatus.SUCCEEDED: payment_pb2.PAYMENT_STATUS_SUCCEEDED,
    PaymentStatus.FAILED: payment_pb2.PAYMENT_STATUS_FAILED,
    PaymentStatus.PARTIALLY_REFUNDED: payment_pb2.PAYMENT_STATUS_PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED: payment_pb2.PAYMENT_STATUS_REFUNDED,
}
_FAILURE_CODE = {
    "card_declined": payment_pb2.FAILURE_CODE_CARD_DECLINED,
    "insufficient_funds": payment_pb2.FAILURE_CODE_INSUFFICIENT_FUNDS,
    "processing_error": payment_pb2.FAILURE_CODE_PROCESSING_ERROR,
    "invalid_token": payment_pb2.FAILURE_CODE_INVALID_TOKEN,
}


def payment_message(payment: Payment) -> payment_pb2.Payment:
    return payment_pb2.Payment(
        id=payment.id,
        order_id=payment.order_id,
        user_id=payment.user_id,
        amount=from_minor_units(payment.currency, payment.amount),
        refunded_amount=from_minor_units(payment.currency, payment.refunded_amount),
        status=_STATUS[payment.status],
        failure_code=_FAILURE_CODE.get(payment.failure_code, payment_pb2.FAILURE_CODE_UNSPECIFIED),
        failure_message=payment.failure_message,
        provider_reference=payment.provider_reference,
        refunds=[refund_message(refund, payment.currency) for refund in payment.refunds],
        create_time=to_timestamp(payment.created_at),
        update_time=to_timestamp(payment.updated_at),
    )


def refund_message(refund: Refund, currency: str) -> payment_pb2.PaymentRefund:
    return payment_pb2.PaymentRefund(
        id=refund.id,
        amount=from_minor_units(currency, refund.amount),
        reason=refund.reason,
        create_time=to_timestamp(refund.created_at),
    )
