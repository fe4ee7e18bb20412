"""Events the ledger records in the outbox with the change that caused them."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Payment, Refund


@dataclass(frozen=True, slots=True)
class PaymentSucceeded:
    payment: Payment


@dataclass(frozen=True, slots=True)
class PaymentFailed:
    payment: Payment


@dataclass(frozen=True, slots=True)
class PaymentRefunded:
    payment: Payment
    refund: Refund


PaymentEvent = PaymentSucceeded | PaymentFailed | PaymentRefunded
