"""The payment ledger: a charge per idempotency key, and the refunds taken from it.

Amounts are integer minor units of the payment's currency. A refund never takes more than
what was captured minus what was already refunded.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime


class PaymentStatus(enum.Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


CAPTURED = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED})


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    idempotency_key: str
    order_id: str
    user_id: str
    amount: int
    currency: str
    payment_token: str

    def fingerprint(self) -> str:
        """Identifies the request behind a key, to reject a key reused for another charge."""
        parts = (self.order_id, self.user_id, str(self.amount), self.currency, self.payment_token)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment_id: str
    idempotency_key: str
    amount: int
    reason: str
    provider_reference: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    idempotency_key: str
    request_fingerprint: str
    order_id: str
    user_id: str
    amount: int
    currency: str
    status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    refunded_amount: int = 0
    failure_code: str = ""
    failure_message: str = ""
    provider_reference: str = ""
    refunds: tuple[Refund, ...] = ()
    # Bumped on every change; sent with each event so consumers can drop stale ones.
    version: int = 1

    @property
    def is_settled(self) -> bool:
        return self.status is not PaymentStatus.PENDING

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded_amount if self.status in CAPTURED else 0

    def succeeded(self, provider_reference: str, now: datetime) -> Payment:
        return replace(
            self,
            status=PaymentStatus.SUCCEEDED,
            provider_reference=provider_reference,
            updated_at=now,
            version=self.version + 1,
        )

    def failed(self, code: str, message: str, provider_reference: str, now: datetime) -> Payment:
        return replace(
            self,
            status=PaymentStatus.FAILED,
            failure_code=code,
            failure_message=message,
            provider_reference=provider_reference,
            updated_at=now,
            version=self.version + 1,
        )

    def with_refund(self, refund: Refund, now: datetime) -> Payment:
        """Callers check `refund_problem` first; this only guards the invariant."""
        refunded = self.refunded_amount + refund.amount
        if refund.amount <= 0 or refunded > self.amount or self.status not in CAPTURED:
            raise ValueError("the refund does not fit the payment")
        fully = refunded == self.amount
        return replace(
            self,
            refunded_amount=refunded,
            status=PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED,
            refunds=(*self.refunds, refund),
            updated_at=now,
            version=self.version + 1,
        )


class RefundProblem(enum.Enum):
    NOT_CAPTURED = "PAYMENT_NOT_CAPTURED"
    EXCEEDS_CAPTURED = "REFUND_EXCEEDS_CAPTURED"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    NOTHING_TO_REFUND = "NOTHING_TO_REFUND"


def refund_amount(payment: Payment, requested: int | None) -> int:
    """What a refund takes: the requested amount, or everything still refundable."""
    return payment.refundable if requested is None else requested


def refund_problem(payment: Payment, amount: int, currency: str | None) -> RefundProblem | None:
    if payment.status is PaymentStatus.REFUNDED:
        return RefundProblem.NOTHING_TO_REFUND
    if payment.status not in CAPTURED:
        return RefundProblem.NOT_CAPTURED
    if currency is not None and currency != payment.currency:
        return RefundProblem.CURRENCY_MISMATCH
    if amount > payment.refundable:
        return RefundProblem.EXCEEDS_CAPTURED
    return None
