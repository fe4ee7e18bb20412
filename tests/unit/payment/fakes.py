"""In-memory stand-ins for the payment ledger and the card processor."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from services.payment.domain.events import PaymentEvent
from services.payment.domain.model import Payment, Refund
from services.payment.domain.provider import (
    Approved,
    ChargeOutcome,
    Declined,
    ProviderCharge,
    ProviderError,
    ProviderRefund,
)
from services.payment.service_layer.ports import ChargeSlot, PaymentStore, RefundSlot


class FakePaymentStore(PaymentStore):
    def __init__(self) -> None:
        self.payments: dict[str, Payment] = {}
        self.events: list[PaymentEvent] = []
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @asynccontextmanager
    async def charge_slot(self, pending: Payment) -> AsyncIterator[ChargeSlot]:
        async with self._locks[pending.idempotency_key]:
            existing = self._by_key(pending.idempotency_key)
            slot = _ChargeSlot(self, existing or pending)
            yield slot

    @asynccontextmanager
    async def refund_slot(self, payment_id: str, idempotency_key: str) -> AsyncIterator[RefundSlot]:
        payment = self.payments.get(payment_id)
        lock_key = payment.idempotency_key if payment else "missing"
        async with self._locks[lock_key]:
            existing = next(
                (
                    refund
                    for p in self.payments.values()
                    for refund in p.refunds
                    if refund.idempotency_key == idempotency_key
                ),
                None,
            )
            yield _RefundSlot(self, self.payments.get(payment_id), existing)

    async def get(self, payment_id: str) -> Payment | None:
        return self.payments.get(payment_id)

    def _by_key(self, key: str) -> Payment | None:
        return next((p for p in self.payments.values() if p.idempotency_key == key), None)


class _ChargeSlot(ChargeSlot):
    def __init__(self, store: FakePaymentStore, payment: Payment) -> None:
        self._store = store
        self.payment = payment

    async def settle(self, payment: Payment, event: PaymentEvent) -> None:
        self._store.payments[payment.id] = payment
        self._store.events.append(event)
        self.payment = payment


class _RefundSlot(RefundSlot):
    def __init__(
        self, store: FakePaymentStore, payment: Payment | None, existing: Refund | None
    ) -> None:
        self._store = store
        self.payment = payment
        self.existing = existing

    async def record(self, payment: Payment, refund: Refund, event: PaymentEvent) -> None:
        self._store.payments[payment.id] = payment
        self._store.events.append(event)
        self.payment = payment


class ScriptedProvider:
    """Answers by token like the sandbox, with no latency, and counts calls."""

    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.charges: list[ProviderCharge] = []
        self.refunds: list[ProviderRefund] = []
        self._delay = delay_seconds
        self._failed: set[str] = set()

    async def charge(self, charge: ProviderCharge) -> ChargeOutcome:
        self.charges.append(charge)
        await asyncio.sleep(self._delay)
        if charge.payment_token == "tok_processingError" and charge.idempotency_key not in (
            self._failed
        ):
            self._failed.add(charge.idempotency_key)
            raise ProviderError("processing error")
        if charge.payment_token == "tok_chargeDeclined":
            return Declined("card_declined", "The card was declined.", "ch_declined")
        return Approved(f"ch_{len(self.charges)}")

    async def refund(self, refund: ProviderRefund) -> str:
        self.refunds.append(refund)
        return f"re_{len(self.refunds)}"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
