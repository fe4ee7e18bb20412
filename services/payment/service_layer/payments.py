"""Use cases of the payment service: charge once per key, refund within what was captured.

Who may do what is decided here, on the caller the servicer passes in: Charge and Refund are
work the order service does (its service token; the interceptor already admitted only the
workloads the mesh policy lists), never a customer or staff member; a payment is read by its
owner or a holder of orders:read.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.clock import Clock
from mesh.errors import (
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from mesh.tasks import DetachedTasks

from ..domain.cards import looks_like_card_number
from ..domain.events import PaymentFailed, PaymentRefunded, PaymentSucceeded
from ..domain.model import (
    ChargeRequest,
    Payment,
    PaymentStatus,
    Refund,
    refund_amount,
    refund_problem,
)
from ..domain.provider import Approved, ProviderCharge, ProviderError, ProviderRefund
from .ports import PaymentProvider, PaymentStore, RefundKeyTakenError

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class Payments:
    def __init__(
        self,
        store: PaymentStore,
        provider: PaymentProvider,
        clock: Clock,
        provider_timeout_seconds: float,
    ) -> None:
        self._store = store
        self._provider = provider
        self._clock = clock
        self._provider_timeout = provider_timeout_seconds
        # Once the processor is asked, the answer must reach the ledger even if our caller
        # stops waiting (a deadline, a dropped connection): a retry with the same key then
        # finds the settled payment instead of a half-done one.
        self._in_flight = DetachedTasks()

    async def charge(self, caller: Identity, request: ChargeRequest) -> Payment:
        _require_service(caller, "charge")
        if looks_like_card_number(request.payment_token):
            # The value is not echoed anywhere: not in the error, not in a log line.
            raise InvalidArgumentError(
                "card numbers are not accepted; send the processor's token instead",
                reason="CARD_NUMBER_NOT_ACCEPTED",
                violations=[
                    FieldViolation("payment_token", "looks like a card number; send a token")
                ],
            )
        return await self._in_flight.run(self._charge_once(request), name="charge")

    async def refund(
        self,
        caller: Identity,
        payment_id: str,
        idempotency_key: str,
        amount: int | None,
        currency: str | None,
        reason: str,
    ) -> Payment:
        _require_service(caller, "refund")
        if amount is not None and amount <= 0:
            raise InvalidArgumentError(
                violations=[
                    FieldViolation("amount", "must be positive; leave it unset to refund all")
                ]
            )
        return await self._in_flight.run(
            self._refund_once(payment_id, idempotency_key, amount, currency, reason),
            name="refund",
        )

    async def get(self, caller: Identity, payment_id: str) -> Payment:
        payment = await self._store.get(payment_id)
        if payment is None or not _may_read(caller, payment):
            raise _not_found(payment_id)
        return payment

    async def close(self) -> None:
        """Let charges and refunds already talking to the processor finish and be recorded."""
        await self._in_flight.drain()

    async def _charge_once(self, request: ChargeRequest) -> Payment:
        now = self._clock()
        pending = Payment(
            id=str(uuid.uuid4()),
            idempotency_key=request.idempotency_key,
            request_fingerprint=request.fingerprint(),
            order_id=request.order_id,
            user_id=request.user_id,
            amount=request.amount,
            currency=request.currency,
            status=PaymentStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        async with self._store.charge_slot(pending) as slot:
            payment = slot.payment
            if payment.request_fingerprint != pending.request_fingerprint:
                raise FailedPreconditionError(
                    "this idempotency key was used for a different charge",
                    reason="IDEMPOTENCY_KEY_REUSED",
                )
            if payment.is_settled:
                return payment
            outcome = await self._ask_provider(
                self._provider.charge(
                    ProviderCharge(
                        idempotency_key=request.idempotency_key,
                        amount=request.amount,
                        currency=request.currency,
                        payment_token=request.payment_token,
                    )
                )
            )
            if isinstance(outcome, Approved):
                settled = payment.succeeded(outcome.reference, self._clock())
                await slot.settle(settled, PaymentSucceeded(settled))
            else:
                settled = payment.failed(
                    outcome.code, outcome.message, outcome.reference, self._clock()
                )
                await slot.settle(settled, PaymentFailed(settled))
            logger.info(
                "charge %s for order %s: %s %s",
                settled.id,
                settled.order_id,
                settled.status.value,
                settled.failure_code,
            )
            return settled

    async def _refund_once(
        self,
        payment_id: str,
        idempotency_key: str,
        amount: int | None,
        currency: str | None,
        reason: str,
    ) -> Payment:
        async with self._store.refund_slot(payment_id, idempotency_key) as slot:
            payment = slot.payment
            if payment is None:
                raise _not_found(payment_id)
            if slot.existing is not None:
                if slot.existing.payment_id != payment.id or (
                    amount is not None and amount != slot.existing.amount
                ):
                    raise _key_reused()
                return payment
            take = refund_amount(payment, amount)
            problem = refund_problem(payment, take, currency)
            if problem is not None:
                raise FailedPreconditionError(
                    _REFUND_PROBLEMS[problem.value].format(refundable=payment.refundable),
                    reason=problem.value,
                    metadata={"refundable": str(payment.refundable), "currency": payment.currency},
                )
            reference = await self._ask_provider(
                self._provider.refund(
                    ProviderRefund(
                        idempotency_key=idempotency_key,
                        charge_reference=payment.provider_reference,
                        amount=take,
                        currency=payment.currency,
                    )
                )
            )
            now = self._clock()
            refund = Refund(
                id=str(uuid.uuid4()),
                payment_id=payment.id,
                idempotency_key=idempotency_key,
                amount=take,
                reason=reason,
                provider_reference=reference,
                created_at=now,
            )
            refunded = payment.with_refund(refund, now)
            try:
                await slot.record(refunded, refund, PaymentRefunded(refunded, refund))
            except RefundKeyTakenError:
                raise _key_reused() from None
            return refunded

    async def _ask_provider(self, call: Coroutine[Any, Any, _T]) -> _T:
        try:
            return await asyncio.wait_for(call, self._provider_timeout)
        except (ProviderError, TimeoutError) as error:
            logger.warning("payment processor error: %s", error)
            raise UnavailableError(
                "the payment processor is unavailable; retry with the same idempotency key",
                reason="PROVIDER_UNAVAILABLE",
                retry_after_seconds=1.0,
            ) from None


_REFUND_PROBLEMS = {
    "PAYMENT_NOT_CAPTURED": "the payment captured nothing that could be refunded",
    "REFUND_EXCEEDS_CAPTURED": "the refund exceeds what is left to refund ({refundable})",
    "CURRENCY_MISMATCH": "the refund's currency differs from the payment's",
    "NOTHING_TO_REFUND": "the payment is already fully refunded",
}


def _require_service(caller: Identity, action: str) -> None:
    """Money moves only on the order service's word: no owner or staff pass (the order's
    state and stock would disagree with the ledger)."""
    if not caller.is_service:
        raise PermissionDeniedError(
            f"only the order service may {action}; customers and staff act through orders",
            reason="INTERNAL_METHOD",
        )


def _may_read(caller: Identity, payment: Payment) -> bool:
    return caller.subject == payment.user_id or caller.has_permission(rbac.ORDERS_READ)


def _not_found(payment_id: str) -> NotFoundError:
    return NotFoundError(
        "no such payment", resource_type="payment", resource_name=f"payments/{payment_id}"
    )


def _key_reused() -> FailedPreconditionError:
    return FailedPreconditionError(
        "this idempotency key was used for a different refund", reason="IDEMPOTENCY_KEY_REUSED"
    )
