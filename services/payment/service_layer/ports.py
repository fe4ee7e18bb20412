"""What the payment use cases need: a ledger (PostgreSQL in production, a fake in tests) and
a card processor (the sandbox locally).

Both ledger slots hold a lock for their whole `async with` block: the charge slot on the payment
row of its idempotency key (created if new), the refund slot on the payment being refunded.
That is what makes a key charge once even when the same request races itself, and keeps
concurrent refunds from together exceeding the captured amount. Leaving the block with an
exception discards everything done in it.
"""

from __future__ import annotations

import abc
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from ..domain.events import PaymentEvent
from ..domain.model import Payment, Refund
from ..domain.provider import ChargeOutcome, ProviderCharge, ProviderRefund


class ChargeSlot(abc.ABC):
    #: The payment stored under the key: `PENDING` when this request is the first.
    payment: Payment

    @abc.abstractmethod
    async def settle(self, payment: Payment, event: PaymentEvent) -> None: ...


class RefundSlot(abc.ABC):
    #: The payment being refunded, None if there is no such payment.
    payment: Payment | None
    #: A refund already made under this idempotency key (on any payment).
    existing: Refund | None

    @abc.abstractmethod
    async def record(self, payment: Payment, refund: Refund, event: PaymentEvent) -> None: ...


class RefundKeyTakenError(Exception):
    """A concurrent refund on another payment took this idempotency key first."""


class PaymentStore(abc.ABC):
    @abc.abstractmethod
    def charge_slot(self, pending: Payment) -> AbstractAsyncContextManager[ChargeSlot]: ...

    @abc.abstractmethod
    def refund_slot(
        self, payment_id: str, idempotency_key: str
    ) -> AbstractAsyncContextManager[RefundSlot]: ...

    @abc.abstractmethod
    async def get(self, payment_id: str) -> Payment | None: ...


class PaymentProvider(Protocol):
    """The card processor. Approval and decline are answers; a ProviderError is not."""

    async def charge(self, charge: ProviderCharge) -> ChargeOutcome: ...

    async def refund(self, refund: ProviderRefund) -> str:
        """The processor's reference of the refund."""
        ...
