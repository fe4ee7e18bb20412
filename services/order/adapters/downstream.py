"""The saga's ports over gRPC: cart, catalog and payment.

Deadlines are per try. Calls that are idempotent for the downstream service (reserving and
releasing by order id, charging and refunding by idempotency key, clearing a cart) are retried
on transient errors; what stays unknown after the last try is reported as such and the saga
picks the step up again later, always with the same keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import grpc
from google.protobuf.message import Message
from shop.cart.v1 import cart_pb2, cart_pb2_grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.payment.v1 import payment_pb2, payment_pb2_grpc

from mesh.errors import DeadlineExceededError
from mesh.money import from_minor_units, to_minor_units

from ..domain.checkout import CartItem, ProductOffer
from ..domain.model import Order, OrderLine
from ..service_layer.ports import (
    CartContents,
    CartPort,
    CatalogPort,
    ChargeResult,
    ChargeStatus,
    DownstreamUnavailable,
    PaymentPort,
    ReservationRejected,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Codes after which the call may be repeated: nothing final was said.
_TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.CANCELLED,
    }
)


@dataclass(frozen=True, slots=True)
class CallPolicy:
    try_timeout_seconds: float
    attempts: int
    backoff_seconds: float


async def _retrying(
    method: Callable[..., Awaitable[T]], request: Message, policy: CallPolicy, what: str
) -> T:
    """The reply; DownstreamUnavailable once transient failures used up every try."""
    for attempt in range(policy.attempts):
        try:
            return await method(request, timeout=policy.try_timeout_seconds)
        except grpc.aio.AioRpcError as error:
            if error.code() not in _TRANSIENT:
                raise
            last = f"{error.code().name}: {error.details()}"
        except DeadlineExceededError as error:
            last = str(error)
        logger.warning("%s failed (try %d of %d): %s", what, attempt + 1, policy.attempts, last)
        if attempt + 1 < policy.attempts:
            await asyncio.sleep(policy.backoff_seconds * 2**attempt)
    raise DownstreamUnavailable(f"{what}: {last}")


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


# Lines the cart priced from the catalog just now; a gone product carries the cart's last
# known price, which is no offer at all.
_PRICED_FROM_CATALOG: Final = frozenset(
    {
        cart_pb2.ITEM_AVAILABILITY_IN_STOCK,
        cart_pb2.ITEM_AVAILABILITY_INSUFFICIENT_STOCK,
        cart_pb2.ITEM_AVAILABILITY_OUT_OF_STOCK,
    }
)


class GrpcCart(CartPort):
    """`caller_stub` forwards the customer's token; `service_stub` sends the order service's."""

    def __init__(
        self,
        caller_stub: cart_pb2_grpc.CartServiceAsyncStub,
        service_stub: cart_pb2_grpc.CartServiceAsyncStub,
        policy: CallPolicy,
    ) -> None:
        self._caller = caller_stub
        self._service = service_stub
        self._policy = policy

    async def contents(self, user_id: str, caller_token: str) -> CartContents:
        """The items with the offers the cart priced them at: the cart reads every product
        from the catalog on each GetCart, so asking the catalog again would only repeat it."""
        cart = await self._caller.GetCart(
            cart_pb2.GetCartRequest(user_id=user_id),
            timeout=self._policy.try_timeout_seconds,
            metadata=_bearer(caller_token),
        )
        items = [CartItem(item.product_id, item.quantity) for item in cart.items]
        if any(item.availability == cart_pb2.ITEM_AVAILABILITY_UNSPECIFIED for item in cart.items):
            return CartContents(items)  # not priced: the catalog is asked
        offers = {
            item.product_id: ProductOffer(
                product_id=item.product_id,
                name=item.name,
                unit_price=to_minor_units(item.unit_price, "item.unit_price").amount,
                currency=item.unit_price.currency_code,
                inventory=item.available_quantity,
            )
            for item in cart.items
            if item.availability in _PRICED_FROM_CATALOG
        }
        return CartContents(items, offers)

    async def clear(self, user_id: str) -> None:
        request = cart_pb2.ClearCartRequest(user_id=user_id)
        await _retrying(self._service.ClearCart, request, self._policy, f"ClearCart({user_id})")


class GrpcCatalog(CatalogPort):
    def __init__(
        self,
        caller_stub: catalog_pb2_grpc.CatalogServiceAsyncStub,
        service_stub: catalog_pb2_grpc.CatalogServiceAsyncStub,
        policy: CallPolicy,
    ) -> None:
        self._caller = caller_stub
        self._service = service_stub
        self._policy = policy

    async def offers(
        self, product_ids: Collection[str], caller_token: str
    ) -> Mapping[str, ProductOffer]:
        if not product_ids:
            return {}
        response = await self._caller.BatchGetProducts(
            catalog_pb2.BatchGetProductsRequest(ids=sorted(product_ids)),
            timeout=self._policy.try_timeout_seconds,
            metadata=_bearer(caller_token),
        )
        return {
            product.id: ProductOffer(
                product_id=product.id,
                name=product.name,
                unit_price=to_minor_units(product.price, "product.price").amount,
                currency=product.price.currency_code,
                inventory=product.inventory,
            )
            for product in response.products
        }

    async def reserve(self, order_id: str, lines: Sequence[OrderLine]) -> None:
        request = catalog_pb2.ReserveStockRequest(
            order_id=order_id,
            items=[
                catalog_pb2.StockItem(product_id=line.product_id, quantity=line.quantity)
                for line in lines
            ],
        )
        try:
            await _retrying(
                self._service.ReserveStock, request, self._policy, f"ReserveStock({order_id})"
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                raise ReservationRejected(
                    error.details() or "the stock cannot be reserved"
                ) from None
            raise

    async def release(self, order_id: str) -> None:
        request = catalog_pb2.ReleaseStockRequest(order_id=order_id)
        await _retrying(
            self._service.ReleaseStock, request, self._policy, f"ReleaseStock({order_id})"
        )


class GrpcPayment(PaymentPort):
    """Charges with the order id as idempotency key, so a repeated try never charges twice."""

    def __init__(self, stub: payment_pb2_grpc.PaymentServiceAsyncStub, policy: CallPolicy) -> None:
        self._stub = stub
        self._policy = policy

    async def charge(self, order: Order) -> ChargeResult:
        request = payment_pb2.ChargeRequest(
            order_id=order.id,
            user_id=order.user_id,
            amount=from_minor_units(order.currency, order.totals.total),
            payment_token=order.payment_token,
            idempotency_key=order.id,
            description=f"shopmesh order {order.id}",
        )
        try:
            payment = await _retrying(
                self._stub.Charge, request, self._policy, f"Charge({order.id})"
            )
        except DownstreamUnavailable:
            return ChargeResult(ChargeStatus.UNKNOWN)
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.INVALID_ARGUMENT:
                # The payment service refused the token itself: no charge can exist.
                return ChargeResult(ChargeStatus.DECLINED, reason=error.details() or "invalid")
            # Anything else says nothing final about the charge: ask again later, same key.
            logger.warning("order %s: charge failed with %s", order.id, error.code().name)
            return ChargeResult(ChargeStatus.UNKNOWN)
        return _charge_result(payment)

    async def refund(self, order: Order) -> None:
        request = payment_pb2.RefundRequest(
            payment_id=order.payment_id,
            idempotency_key=f"refund:{order.id}",
            reason=order.status_reason[:500],
        )
        await _retrying(self._stub.Refund, request, self._policy, f"Refund({order.id})")


def _charge_result(payment: payment_pb2.Payment) -> ChargeResult:
    if payment.status == payment_pb2.PAYMENT_STATUS_FAILED:
        code = payment_pb2.FailureCode.Name(payment.failure_code)
        code = code.removeprefix("FAILURE_CODE_").lower()
        reason = f"{code}: {payment.failure_message}" if payment.failure_message else code
        return ChargeResult(ChargeStatus.DECLINED, payment_id=payment.id, reason=reason)
    if payment.status == payment_pb2.PAYMENT_STATUS_PENDING:
        return ChargeResult(ChargeStatus.UNKNOWN, payment_id=payment.id)
    # SUCCEEDED, or already (partially) refunded by someone: the money was captured.
    return ChargeResult(ChargeStatus.SUCCEEDED, payment_id=payment.id)
