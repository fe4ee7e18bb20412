"""PaymentService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any

from grpc import aio
from shop.payment.v1 import payment_pb2, payment_pb2_grpc

from mesh.auth.identity import current_identity
from mesh.money import to_minor_units

from .adapters.protos import payment_message
from .domain.model import ChargeRequest
from .service_layer.payments import Payments

Context = aio.ServicerContext[Any, Any]


class PaymentServicer(payment_pb2_grpc.PaymentServiceServicer):
    def __init__(self, payments: Payments) -> None:
        self._payments = payments

    async def Charge(
        self, request: payment_pb2.ChargeRequest, context: Context
    ) -> payment_pb2.Payment:
        amount = to_minor_units(request.amount, "amount")
        charge = ChargeRequest(
            idempotency_key=request.idempotency_key,
            order_id=request.order_id,
            user_id=request.user_id,
            amount=amount.amount,
            currency=amount.currency,
            payment_token=request.payment_token,
        )
        return payment_message(await self._payments.charge(current_identity(), charge))

    async def Refund(
        self, request: payment_pb2.RefundRequest, context: Context
    ) -> payment_pb2.Payment:
        amount = to_minor_units(request.amount, "amount") if request.HasField("amount") else None
        payment = await self._payments.refund(
            current_identity(),
            payment_id=request.payment_id,
            idempotency_key=request.idempotency_key,
            amount=amount.amount if amount else None,
            currency=amount.currency if amount else None,
            reason=request.reason,
        )
        return payment_message(payment)

    async def GetPayment(
        self, request: payment_pb2.GetPaymentRequest, context: Context
    ) -> payment_pb2.Payment:
        return payment_message(await self._payments.get(current_identity(), request.id))
