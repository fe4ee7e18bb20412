"""What is said to and by a card processor. Approval and decline are answers; a ProviderError
is not. The processor itself is a port (service_layer/ports.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProviderCharge:
    idempotency_key: str
    amount: int
    currency: str
    payment_token: str


@dataclass(frozen=True, slots=True)
class Approved:
    reference: str


@dataclass(frozen=True, slots=True)
class Declined:
    code: str
    message: str
    reference: str


ChargeOutcome = Approved | Declined


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    idempotency_key: str
    charge_reference: str
    amount: int
    currency: str


class ProviderError(Exception):
    """The processor could not answer (outage, timeout); nothing is final, retry the same key."""
