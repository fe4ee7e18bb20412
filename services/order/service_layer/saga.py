"""The checkout and cancellation sagas, driven step by step from the persisted saga state.

`SagaRunner.run` resumes an order from whatever step was last persisted, so the same code
serves the live checkout, a retried request and the recovery loop. Every downstream call is
idempotent per order id (reservation, charge, refund) or harmless to repeat (clearing the cart,
releasing stock), so re-running a step whose outcome was lost in a crash is safe.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from mesh.clock import Clock

from ..domain.model import Order, SagaStep, Transition
from .ports import (
    CartPort,
    CatalogPort,
    ChargeStatus,
    DownstreamUnavailable,
    PaymentPort,
    ReservationRejected,
)
from .store import OrderStore, StaleSagaState

logger = logging.getLogger(__name__)

ABANDONED_REASON = "checkout did not reach payment in time"


class Checkpoint(enum.StrEnum):
    """Named points between a downstream call and the persisted step that records it."""

    BEFORE_RESERVE = "before_reserve"
    AFTER_RESERVE = "after_reserve"
    BEFORE_CHARGE = "before_charge"
    AFTER_CHARGE = "after_charge"
    AFTER_PAID = "after_paid"
    AFTER_CART_CLEARED = "after_cart_cleared"
    AFTER_RELEASE = "after_release"
    AFTER_REFUND = "after_refund"


# Fault injection for crash tests: raising here leaves the saga exactly as a killed process would.
FaultHook = Callable[[Checkpoint, Order], Awaitable[None]]


async def no_faults(checkpoint: Checkpoint, order: Order) -> None:
    return None


class SagaObserver:
    """Hears what the saga does (metrics); the base class ignores it all."""

    def step_taken(self, order: Order) -> None:
        """`order` has just been persisted at its new step."""

    def charge_unknown(self, order: Order) -> None:
        """A charge got no final answer; it will be asked again with the same key."""


UNOBSERVED = SagaObserver()


@dataclass(frozen=True, slots=True)
class SagaPolicy:
    # An order that has not reached payment after this long is compensated, not charged:
    # the customer has long stopped waiting for that checkout.
    checkout_timeout: timedelta = timedelta(minutes=15)


Step = Callable[[Order], Awaitable[Order | None]]


class SagaRunner:
    def __init__(
        self,
        store: OrderStore,
        catalog: CatalogPort,
        payment: PaymentPort,
        cart: CartPort,
        clock: Clock,
        policy: SagaPolicy = SagaPolicy(),
        faults: FaultHook = no_faults,
        observer: SagaObserver = UNOBSERVED,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._payment = payment
        self._cart = cart
        self._clock = clock
        self._policy = policy
        self._faults = faults
        self._observer = observer
        self._steps: dict[SagaStep, Step] = {
            SagaStep.STARTED: self._reserve_stock,
            SagaStep.STOCK_RESERVED: self._start_charging,
            SagaStep.CHARGING: self._charge,
            SagaStep.PAID: self._clear_cart,
            SagaStep.COMPENSATING: self._release_stock,
            SagaStep.REFUNDING: self._refund,
        }

    async def run(self, order_id: str, *, wait: bool = True) -> Order | None:
        """Drive the order's saga as far as it can go now; None if another runner holds it."""
        async with self._store.saga_lock(order_id, wait=wait) as acquired:
            if not acquired:
                return None
            return await self._drive(await self._load(order_id))

    async def cancel(self, order_id: str, reason: str) -> Order:
        """Run the cancellation saga; a second cancel only finishes the first, never refunds twice.

        FailedPreconditionError when the order is not (or no longer) cancellable.
        """
        async with self._store.saga_lock(order_id, wait=True):
            order = await self._load(order_id)
            if not order.cancel_requested:
                order = await self._apply(order.request_cancel(reason, self._clock()))
            return await self._drive(order)

    async def _drive(self, order: Order) -> Order:
        while not order.saga_step.is_finished:
            try:
                moved = await self._steps[order.saga_step](order)
            except DownstreamUnavailable as error:
                logger.warning("order %s: step %s postponed: %s", order.id, order.saga_step, error)
                return order
            except StaleSagaState:
                moved = await self._load(order.id)
            if moved is None:
                return order
            order = moved
        return order

    async def _apply(self, transition: Transition) -> Order:
        order = await self._store.apply(transition)
        logger.info("order %s: saga step %s", order.id, order.saga_step)
        self._observer.step_taken(order)
        return order

    async def _load(self, order_id: str) -> Order:
        order = await self._store.get(order_id)
        if order is None:
            raise LookupError(f"order {order_id} does not exist")
        return order

    def _abandoned(self, order: Order) -> bool:
        return self._clock() - order.created_at > self._policy.checkout_timeout

    # -- checkout ------------------------------------------------------------------------

    async def _reserve_stock(self, order: Order) -> Order:
        if self._abandoned(order):
            return await self._apply(order.payment_failed(ABANDONED_REASON, self._clock()))
        await self._faults(Checkpoint.BEFORE_RESERVE, order)
        try:
            await self._catalog.reserve(order.id, order.lines)
        except ReservationRejected as rejected:
            return await self._apply(order.stock_rejected(rejected.reason, self._clock()))
        await self._faults(Checkpoint.AFTER_RESERVE, order)
        return await self._apply(order.stock_reserved(self._clock()))

    async def _start_charging(self, order: Order) -> Order:
        # Persisted before the call: from here on a crash means "the charge may exist".
        if self._abandoned(order):
            return await self._apply(order.payment_failed(ABANDONED_REASON, self._clock()))
        return await self._apply(order.charging(self._clock()))

    async def _charge(self, order: Order) -> Order | None:
        await self._faults(Checkpoint.BEFORE_CHARGE, order)
        result = await self._payment.charge(order)
        await self._faults(Checkpoint.AFTER_CHARGE, order)
        if result.status is ChargeStatus.SUCCEEDED:
            return await self._apply(order.paid(result.payment_id, self._clock()))
        if result.status is ChargeStatus.DECLINED:
            return await self._apply(order.payment_failed(result.reason, self._clock()))
        logger.warning("order %s: charge outcome unknown, will retry with the same key", order.id)
        self._observer.charge_unknown(order)
        return None

    async def _clear_cart(self, order: Order) -> Order:
        await self._faults(Checkpoint.AFTER_PAID, order)
        await self._cart.clear(order.user_id)
        await self._faults(Checkpoint.AFTER_CART_CLEARED, order)
        return await self._apply(order.cart_cleared(self._clock()))

    async def _release_stock(self, order: Order) -> Order:
        await self._catalog.release(order.id)
        await self._faults(Checkpoint.AFTER_RELEASE, order)
        return await self._apply(order.compensated(self._clock()))

    # -- cancellation --------------------------------------------------------------------

    async def _refund(self, order: Order) -> Order:
        await self._payment.refund(order)
        await self._faults(Checkpoint.AFTER_REFUND, order)
        await self._catalog.release(order.id)
        await self._faults(Checkpoint.AFTER_RELEASE, order)
        return await self._apply(order.cancelled(self._clock()))
