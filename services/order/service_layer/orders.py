"""Order use cases: place (idempotent), read, list, cancel, and the review service's check."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mesh import rbac
from mesh.auth.identity import Identity, require_permission, require_self_or_permission
from mesh.clock import Clock
from mesh.context import current_request, request_scope
from mesh.errors import NotFoundError
from mesh.pagination import INSTANT_AND_ID, InstantAndId
from mesh.tasks import DetachedTasks

from ..domain.checkout import order_lines
from ..domain.idempotency import CheckoutRequest, IdempotencyRecord, require_key
from ..domain.model import Order
from ..domain.pricing import PricingPolicy
from .ports import CartPort, CatalogPort
from .saga import SagaRunner
from .store import IdempotencyConflict, OrderQuery, OrderStore, PageCursor

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: Sequence[Order]
    next_page_token: str
    total_size: int


class Orders:
    def __init__(
        self,
        store: OrderStore,
        cart: CartPort,
        catalog: CatalogPort,
        saga: SagaRunner,
        policy: PricingPolicy,
        currency: str,
        clock: Clock,
        new_order_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._store = store
        self._cart = cart
        self._catalog = catalog
        self._saga = saga
        self._policy = policy
        self._currency = currency
        self._clock = clock
        self._new_order_id = new_order_id
        # Checkouts run detached from their request (see _finish).
        self._running = DetachedTasks(on_failure=_log_stopped_checkout)

    async def place_order(
        self, caller: Identity, request: CheckoutRequest, idempotency_key: str | None
    ) -> Order:
        """Same key + same request returns the same order and never charges twice."""
        require_self_or_permission(request.user_id, rbac.ORDERS_WRITE, caller)
        key = require_key(idempotency_key)
        request_hash = request.fingerprint()
        record = await self._store.idempotency_record(request.user_id, key)
        if record is None:
            record = await self._create(caller, request, key, request_hash)
        record.check_same_request(request_hash)
        return await self._finish(record.order_id)

    async def get_order(self, caller: Identity, order_id: str) -> Order:
        order = await self._store.get(order_id)
        # A customer cannot tell someone else's order from a missing one.
        if order is None or not _is_self_or(caller, order.user_id, rbac.ORDERS_READ):
            raise NotFoundError(
                f"order {order_id} not found", resource_type="order", resource_name=order_id
            )
        return order

    async def list_orders(
        self, caller: Identity, query: OrderQuery, page_size: int, page_token: str
    ) -> OrderPage:
        """Newest first; everyone's orders (user_id None) only for holders of orders:read.
        A page token continues only the listing (user and status) it was issued for."""
        if query.user_id is None:
            require_permission(rbac.ORDERS_READ, caller)
        else:
            require_self_or_permission(query.user_id, rbac.ORDERS_READ, caller)
        after = decode_page_token(page_token, query)
        orders = await self._store.list_orders(query, page_size + 1, after)
        total = await self._store.count(query)
        if len(orders) <= page_size:
            return OrderPage(orders, "", total)
        last = orders[page_size - 1]
        next_page = PageCursor(last.created_at, last.id)
        return OrderPage(orders[:page_size], encode_page_token(next_page, query), total)

    async def cancel_order(self, caller: Identity, order_id: str, reason: str) -> Order:
        """Refund and release; cancelling a cancelled order returns it unchanged."""
        order = await self.get_order(caller, order_id)
        require_self_or_permission(order.user_id, rbac.ORDERS_CANCEL, caller)
        return await self._saga.cancel(order.id, reason or "cancelled by request")

    async def purchase_of(self, caller: Identity, user_id: str, product_id: str) -> str | None:
        """Id of a paid order of the user containing the product (verified-purchase check)."""
        require_self_or_permission(user_id, rbac.ORDERS_READ, caller)
        return await self._store.paid_order_with(user_id, product_id)

    async def drain(self, timeout_seconds: float) -> None:
        """Give running checkouts time to finish at shutdown, then stop them.

        Stopping one is safe: its last step is persisted and recovery takes it from there.
        """
        await self._running.drain(timeout_seconds)

    async def _create(
        self, caller: Identity, request: CheckoutRequest, key: str, request_hash: str
    ) -> IdempotencyRecord:
        order = await self._new_order(caller, request)
        record = IdempotencyRecord(request.user_id, key, request_hash, order.id)
        try:
            await self._store.create(order, record)
        except IdempotencyConflict as conflict:
            # A concurrent retry won the race; its order is the one to return.
            return conflict.existing
        return record

    async def _new_order(self, caller: Identity, request: CheckoutRequest) -> Order:
        cart = await self._cart.contents(request.user_id, caller.token)
        offers = cart.offers
        if offers is None:
            ids = {item.product_id for item in cart.items}
            offers = await self._catalog.offers(ids, caller.token)
        return Order.start(
            order_id=self._new_order_id(),
            user_id=request.user_id,
            lines=order_lines(request.user_id, cart.items, offers, self._currency),
            currency=self._currency,
            shipping_address=request.shipping_address,
            payment_token=request.payment_token,
            policy=self._policy,
            now=self._clock(),
        )

    async def _finish(self, order_id: str) -> Order:
        # The saga runs in its own task: a client that disconnects or times out must not
        # cancel it halfway; the order is then finished here and read back with GetOrder.
        order = await self._running.run(self._run_detached(order_id), name=f"checkout-{order_id}")
        if order is None:
            raise LookupError(f"saga lock for order {order_id} was not granted")
        return order

    async def _run_detached(self, order_id: str) -> Order | None:
        # Downstream calls normally inherit the caller's deadline; the saga must not, or a
        # client giving up would turn every later step into an instant timeout.
        request = current_request()
        if request is None:
            return await self._saga.run(order_id)
        with request_scope(dataclasses.replace(request, deadline=None)):
            return await self._saga.run(order_id)


def _is_self_or(caller: Identity, user_id: str, permission: str) -> bool:
    return caller.subject == user_id or caller.has_permission(permission)


def encode_page_token(cursor: PageCursor | None, query: OrderQuery) -> str:
    """The token of the page after `cursor`; "" when there is none."""
    position = None if cursor is None else InstantAndId(cursor.created_at, cursor.order_id)
    return INSTANT_AND_ID.encode(position, query=_listing(query))


def decode_page_token(token: str, query: OrderQuery) -> PageCursor | None:
    """INVALID_ARGUMENT on `page_token` for a foreign token or one of another listing."""
    position = INSTANT_AND_ID.decode(token, query=_listing(query))
    return None if position is None else PageCursor(position.at, position.id)


def _listing(query: OrderQuery) -> str:
    return f"{query.user_id or ''}|{query.status or ''}"


def _log_stopped_checkout(task: asyncio.Task[Any], error: BaseException) -> None:
    # Also seen by the request when it is still waiting; logged here for when it is not.
    logger.warning("checkout %s stopped early; recovery resumes it: %r", task.get_name(), error)
