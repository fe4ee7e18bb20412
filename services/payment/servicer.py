"""PaymentService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf import timestamp_pb2
from grpc import aio
from shop.payment.v1 import payment_pb2, payment_pb2_grpc

from mesh.auth.identity import current_identity
from services.payment.domain.model import ChargeRequest, Payment, PaymentStatus, Refund
from services.payment.money import from_minor, to_minor
from services.payment.payments import Payments

Context = aio.ServicerContext[Any, Any]

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


class PaymentServicer(payment_pb2_grpc.PaymentServiceServicer):
    def __init__(self, payments: Payments) -> None:
        self._payments = payments

    async def Charge(
        self, request: payment_pb2.ChargeRequest, context: Context
    ) -> payment_pb2.Payment:
        charge = ChargeRequest(
            idempotency_key=request.idempotency_key,
            order_id=request.order_id,
            user_id=request.user_id,
            amount=to_minor(request.amount, "amount"),
            currency=request.amount.currency_code,
            payment_token=request.payment_token,
        )
        return payment_message(await self._payments.charge(current_identity(), charge))

    async def Refund(
        self, request: payment_pb2.RefundRequest, context: Context
    ) -> payment_pb2.Payment:
        has_amount = request.HasField("amount")
        payment = await self._payments.refund(
            current_identity(),
            payment_id=request.payment_id,
            idempotency_key=request.idempotency_key,
            amount=to_minor(request.amount, "amount") if has_amount else None,
            currency=request.amount.currency_code if has_amount else None,
            reason=request.reason,
        )
        return payment_message(payment)

    async def GetPayment(
        self, request: payment_pb2.GetPaymentRequest, context: Context
    ) -> payment_pb2.Payment:
        return payment_message(await self._payments.get(current_identity(), request.id))


def payment_message(payment: Payment) -> payment_pb2.Payment:
    return payment_pb2.Payment(
        id=payment.id,
        order_id=payment.order_id,
        user_id=payment.user_id,
        amount=from_minor(payment.amount, payment.currency),
        refunded_amount=from_minor(payment.refunded_amount, payment.currency),
        status=_STATUS[payment.status],
        failure_code=_FAILURE_CODE.get(
            payment.failure_code, payment_pb2.FAILURE_CODE_UNSPECIFIED
        ),
        failure_message=payment.failure_message,
        provider_reference=payment.provider_reference,
        refunds=[refund_message(refund, payment.currency) for refund in payment.refunds],
        create_time=_timestamp(payment.created_at),
        update_time=_timestamp(payment.updated_at),
    )


def refund_message(refund: Refund, currency: str) -> payment_pb2.PaymentRefund:
    return payment_pb2.PaymentRefund(
        id=refund.id,
        amount=from_minor(refund.amount, currency),
        reason=refund.reason,
        create_time=_timestamp(refund.created_at),
    )


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp
