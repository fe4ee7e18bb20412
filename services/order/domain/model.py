"""The order aggregate and its checkout saga state machine.

An order carries two states: `status` is what the customer sees; `saga_step` is how far the
checkout (or cancellation) saga got, persisted after every step so that a crashed process can be
finished or compensated by the recovery loop. Every change is a `Transition`: the step it
expects, the order after it, and the events it publishes. The store applies a transition only if
the order is still at the expected step, which makes each step (and its events) happen once.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mesh.errors import FailedPreconditionError

from .pricing import PricingPolicy, Totals, price


class OrderStatus(enum.StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    CANCELLED = "CANCELLED"


class SagaStep(enum.StrEnum):
    STARTED = "STARTED"  # persisted; stock may or may not be reserved yet
    STOCK_RESERVED = "STOCK_RESERVED"
    CHARGING = "CHARGING"  # a charge may be in flight: only ever retried with the same key
    PAID = "PAID"  # charged; the cart is not cleared yet
    COMPLETED = "COMPLETED"
    COMPENSATING = "COMPENSATING"  # failed; reserved stock still to be released
    FAILED = "FAILED"
    REFUNDING = "REFUNDING"  # cancel accepted; refund and stock release still to be done
    CANCELLED = "CANCELLED"

    @property
    def is_finished(self) -> bool:
        return self in _FINISHED

    @property
    def charge_may_exist(self) -> bool:
        """From CHARGING on, compensating without asking the payment service could lose money."""
        return self not in (SagaStep.STARTED, SagaStep.STOCK_RESERVED)


_FINISHED = frozenset({SagaStep.COMPLETED, SagaStep.FAILED, SagaStep.CANCELLED})
_CANCELLABLE = frozenset({SagaStep.PAID, SagaStep.COMPLETED})


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country_code: str


@dataclass(frozen=True, slots=True)
class OrderLine:
    product_id: str
    name: str
    quantity: int
    unit_price: int

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


class OrderEventType(enum.StrEnum):
    PLACED = "OrderPlaced"
    PAID = "OrderPaid"
    PAYMENT_FAILED = "OrderPaymentFailed"
    CANCELLED = "OrderCancelled"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    type: OrderEventType
    order: Order
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    user_id: str
    status: OrderStatus
    saga_step: SagaStep
    lines: tuple[OrderLine, ...]
    totals: Totals
    currency: str
    shipping_address: Address
    payment_token: str
    created_at: datetime
    updated_at: datetime
    payment_id: str = ""
    status_reason: str = ""
    version: int = 1

    @classmethod
    def start(
        cls,
        *,
        order_id: str,
        user_id: str,
        lines: Iterable[OrderLine],
        currency: str,
        shipping_address: Address,
        payment_token: str,
        policy: PricingPolicy,
        now: datetime,
    ) -> Order:
        lines = tuple(lines)
        return cls(
            id=order_id,
            user_id=user_id,
            status=OrderStatus.PENDING,
            saga_step=SagaStep.STARTED,
            lines=lines,
            totals=price((line.line_total for line in lines), policy),
            currency=currency,
            shipping_address=shipping_address,
            payment_token=payment_token,
            created_at=now,
            updated_at=now,
        )

    @property
    def product_ids(self) -> frozenset[str]:
        return frozenset(line.product_id for line in self.lines)

    # -- checkout saga -------------------------------------------------------------------

    def stock_reserved(self, now: datetime) -> Transition:
        after = self._moved(SagaStep.STOCK_RESERVED, now)
        return self._transition(SagaStep.STARTED, after, OrderEvent(OrderEventType.PLACED, after))

    def charging(self, now: datetime) -> Transition:
        return self._transition(SagaStep.STOCK_RESERVED, self._moved(SagaStep.CHARGING, now))

    def paid(self, payment_id: str, now: datetime) -> Transition:
        after = self._moved(SagaStep.PAID, now, status=OrderStatus.PAID, payment_id=payment_id)
        return self._transition(SagaStep.CHARGING, after, OrderEvent(OrderEventType.PAID, after))

    def cart_cleared(self, now: datetime) -> Transition:
        return self._transition(SagaStep.PAID, self._moved(SagaStep.COMPLETED, now))

    def payment_failed(self, reason: str, now: datetime) -> Transition:
        """The charge was declined (or never happened): the order fails and stock goes back."""
        after = self._moved(
            SagaStep.COMPENSATING, now, status=OrderStatus.PAYMENT_FAILED, status_reason=reason
        )
        event = OrderEvent(OrderEventType.PAYMENT_FAILED, after, reason)
        return self._transition(self.saga_step, after, event, allowed=_BEFORE_PAYMENT_RESULT)

    def stock_rejected(self, reason: str, now: datetime) -> Transition:
        """The catalog refused the reservation: nothing was charged or reserved."""
        after = self._moved(
            SagaStep.COMPENSATING, now, status=OrderStatus.CANCELLED, status_reason=reason
        )
        return self._transition(SagaStep.STARTED, after)

    def compensated(self, now: datetime) -> Transition:
        return self._transition(SagaStep.COMPENSATING, self._moved(SagaStep.FAILED, now))

    # -- cancellation saga ---------------------------------------------------------------

    @property
    def cancel_requested(self) -> bool:
        return self.saga_step in (SagaStep.REFUNDING, SagaStep.CANCELLED)

    def request_cancel(self, reason: str, now: datetime) -> Transition:
        if self.saga_step not in _CANCELLABLE:
            raise FailedPreconditionError(
                f"order {self.id} cannot be cancelled while it is {self.status.value}",
                reason="ORDER_NOT_CANCELLABLE",
            )
        after = self._moved(SagaStep.REFUNDING, now, status_reason=reason)
        return self._transition(self.saga_step, after)

    def cancelled(self, now: datetime) -> Transition:
        after = self._moved(SagaStep.CANCELLED, now, status=OrderStatus.CANCELLED)
        event = OrderEvent(OrderEventType.CANCELLED, after, self.status_reason)
        return self._transition(SagaStep.REFUNDING, after, event)

    # -- internals -----------------------------------------------------------------------

    def _moved(
        self,
        step: SagaStep,
        now: datetime,
        *,
        status: OrderStatus | None = None,
        payment_id: str | None = None,
        status_reason: str | None = None,
    ) -> Order:
        return dataclasses.replace(
            self,
            saga_step=step,
            status=self.status if status is None else status,
            payment_id=self.payment_id if payment_id is None else payment_id,
            status_reason=self.status_reason if status_reason is None else status_reason,
            # The token is kept only while the saga may still have to charge with it.
            payment_token="" if step.is_finished else self.payment_token,
            updated_at=now,
            version=self.version + 1,
        )

    def _transition(
        self,
        expected: SagaStep,
        after: Order,
        *events: OrderEvent,
        allowed: frozenset[SagaStep] | None = None,
    ) -> Transition:
        if self.saga_step is not expected or (allowed is not None and expected not in allowed):
            raise InvalidTransition(self.id, self.saga_step, after.saga_step)
        return Transition(expected=expected, order=after, events=events)


_BEFORE_PAYMENT_RESULT = frozenset({SagaStep.STARTED, SagaStep.STOCK_RESERVED, SagaStep.CHARGING})


@dataclass(frozen=True, slots=True)
class Transition:
    """Apply only if the stored order is still at `expected`; `order` is the state after it."""

    expected: SagaStep
    order: Order
    events: tuple[OrderEvent, ...] = ()


class InvalidTransition(Exception):
    """A saga bug: a step was attempted from a state it does not follow."""

    def __init__(self, order_id: str, current: SagaStep, target: SagaStep) -> None:
        super().__init__(f"order {order_id}: cannot move from {current} to {target}")
