"""In-memory fakes of the order store and of the services the saga calls."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.order.domain.checkout import CartItem, ProductOffer
from services.order.domain.idempotency import IdempotencyRecord
from services.order.domain.model import Order, OrderEvent, OrderLine, OrderStatus, Transition
from services.order.service_layer.ports import (
    CartContents,
    CartPort,
    CatalogPort,
    ChargeResult,
    ChargeStatus,
    DownstreamUnavailable,
    PaymentPort,
    ReservationRejected,
)
from services.order.service_layer.store import (
    IdempotencyConflict,
    OrderQuery,
    OrderStore,
    PageCursor,
    StaleSagaState,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        # Each reading moves on a little, so that orders get distinct, ordered times.
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class FakeOrderStore(OrderStore):
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.keys: dict[tuple[str, str], IdempotencyRecord] = {}
        self.outbox: list[OrderEvent] = []
        self._locks: dict[str, asyncio.Lock] = {}

    async def idempotency_record(self, user_id: str, key: str) -> IdempotencyRecord | None:
        return self.keys.get((user_id, key))

    async def create(self, order: Order, idempotency: IdempotencyRecord) -> None:
        existing = self.keys.get((idempotency.user_id, idempotency.key))
        if existing is not None:
            raise IdempotencyConflict(existing)
        self.orders[order.id] = order
        self.keys[(idempotency.user_id, idempotency.key)] = idempotency

    async def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    async def apply(self, transition: Transition) -> Order:
        current = self.orders[transition.order.id]
        if current.saga_step is not transition.expected:
            raise StaleSagaState(current.id)
        self.orders[current.id] = transition.order
        self.outbox.extend(transition.events)
        return transition.order

    async def list_orders(
        self, query: OrderQuery, limit: int, after: PageCursor | None
    ) -> Sequence[Order]:
        orders = sorted(
            (o for o in self.orders.values() if _matches(o, query)),
            key=lambda o: (o.created_at, o.id),
            reverse=True,
        )
        if after is not None:
            orders = [
                o for o in orders if (o.created_at, o.id) < (after.created_at, after.order_id)
            ]
        return orders[:limit]

    async def count(self, query: OrderQuery) -> int:
        return sum(1 for o in self.orders.values() if _matches(o, query))

    async def unfinished(self, updated_before: datetime, limit: int) -> Sequence[str]:
        pending = [
            o
            for o in self.orders.values()
            if not o.saga_step.is_finished and o.updated_at < updated_before
        ]
        return [o.id for o in sorted(pending, key=lambda o: o.updated_at)][:limit]

    async def paid_order_with(self, user_id: str, product_id: str) -> str | None:
        for order in self.orders.values():
            if (
                order.user_id == user_id
                and order.status is OrderStatus.PAID
                and not order.cancel_requested
                and product_id in order.product_ids
            ):
                return order.id
        return None

    @asynccontextmanager
    async def saga_lock(self, order_id: str, *, wait: bool) -> AsyncIterator[bool]:
        lock = self._locks.setdefault(order_id, asyncio.Lock())
        if not wait and lock.locked():
            yield False
            return
        async with lock:
            yield True

    def event_types(self) -> list[str]:
        return [event.type.value for event in self.outbox]


def _matches(order: Order, query: OrderQuery) -> bool:
    return (query.user_id is None or order.user_id == query.user_id) and (
        query.status is None or order.status is query.status
    )


@dataclass
class FakeCart(CartPort):
    carts: dict[str, list[CartItem]] = field(default_factory=dict)
    outages: int = 0  # how many next calls fail as unavailable
    tokens_seen: list[str] = field(default_factory=list)

    # When set, the cart prices its items from this catalog, as the real cart does on every read.
    catalog: FakeCatalog | None = None

    async def contents(self, user_id: str, caller_token: str) -> CartContents:
        self.tokens_seen.append(caller_token)
        items = list(self.carts.get(user_id, []))
        if self.catalog is None:
            return CartContents(items)
        offers = await self.catalog.offers({item.product_id for item in items}, caller_token)
        return CartContents(items, offers)

    async def clear(self, user_id: str) -> None:
        if self.outages:
            self.outages -= 1
            raise DownstreamUnavailable("cart is down")
        self.carts.pop(user_id, None)


@dataclass
class FakeCatalog(CatalogPort):
    products: dict[str, ProductOffer] = field(default_factory=dict)
    reservations: dict[str, tuple[OrderLine, ...]] = field(default_factory=dict)
    reserve_calls: int = 0

    def add(self, product_id: str, price: int, inventory: int, currency: str = "USD") -> None:
        self.products[product_id] = ProductOffer(
            product_id, f"Product {product_id}", price, currency, inventory
        )

    def inventory(self, product_id: str) -> int:
        return self.products[product_id].inventory

    offer_calls: int = 0

    async def offers(
        self, product_ids: Collection[str], caller_token: str
    ) -> Mapping[str, ProductOffer]:
        self.offer_calls += 1
        return {pid: self.products[pid] for pid in product_ids if pid in self.products}

    async def reserve(self, order_id: str, lines: Sequence[OrderLine]) -> None:
        self.reserve_calls += 1
        if order_id in self.reservations:
            return
        for line in lines:
            if self.products[line.product_id].inventory < line.quantity:
                raise ReservationRejected(f"not enough {line.product_id} in stock")
        for line in lines:
            self._adjust(line.product_id, -line.quantity)
        self.reservations[order_id] = tuple(lines)

    async def release(self, order_id: str) -> None:
        for line in self.reservations.pop(order_id, ()):
            self._adjust(line.product_id, line.quantity)

    def _adjust(self, product_id: str, delta: int) -> None:
        offer = self.products[product_id]
        self.products[product_id] = ProductOffer(
            offer.product_id, offer.name, offer.unit_price, offer.currency, offer.inventory + delta
        )


@dataclass
class FakePayment(PaymentPort):
    """Keyed by idempotency key like the real one; `unknown_times` answers UNKNOWN first."""

    unknown_times: int = 0
    results: dict[str, ChargeResult] = field(default_factory=dict)
    provider_charges: Counter[str] = field(default_factory=Counter)
    refunds: Counter[str] = field(default_factory=Counter)

    async def charge(self, order: Order) -> ChargeResult:
        if order.id not in self.results:
            self.provider_charges[order.id] += 1
            if order.payment_token == "tok_chargeDeclined":
                result = ChargeResult(ChargeStatus.DECLINED, reason="card_declined: declined")
            else:
                result = ChargeResult(ChargeStatus.SUCCEEDED, payment_id=f"pay-{order.id}")
            self.results[order.id] = result
        if self.unknown_times:
            # The charge happened, but the answer got lost (a timeout).
            self.unknown_times -= 1
            return ChargeResult(ChargeStatus.UNKNOWN)
        return self.results[order.id]

    async def refund(self, order: Order) -> None:
        self.refunds[order.id] += 1
