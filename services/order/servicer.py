"""OrderService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any

from grpc import aio
from shop.order.v1 import order_pb2, order_pb2_grpc

from mesh.auth import current_identity

from .adapters.protos import address_from_proto, order_to_proto, status_from_proto
from .domain.idempotency import IDEMPOTENCY_HEADER, CheckoutRequest
from .service_layer.orders import Orders
from .service_layer.store import OrderQuery

Context = aio.ServicerContext[Any, Any]
DEFAULT_PAGE_SIZE = 20


class OrderServicer(order_pb2_grpc.OrderServiceServicer):
    def __init__(self, orders: Orders) -> None:
        self._orders = orders

    async def PlaceOrder(
        self, request: order_pb2.PlaceOrderRequest, context: Context
    ) -> order_pb2.Order:
        checkout = CheckoutRequest(
            user_id=request.user_id,
            payment_token=request.payment_token,
            shipping_address=address_from_proto(request.shipping_address),
        )
        key = _metadata_value(context, IDEMPOTENCY_HEADER)
        order = await self._orders.place_order(current_identity(), checkout, key)
        return order_to_proto(order)

    async def GetOrder(
        self, request: order_pb2.GetOrderRequest, context: Context
    ) -> order_pb2.Order:
        return order_to_proto(await self._orders.get_order(current_identity(), request.id))

    async def ListOrders(
        self, request: order_pb2.ListOrdersRequest, context: Context
    ) -> order_pb2.ListOrdersResponse:
        query = OrderQuery(
            user_id=request.user_id or None, status=status_from_proto(request.status)
        )
        page = await self._orders.list_orders(
            current_identity(),
            query,
            request.page_size or DEFAULT_PAGE_SIZE,
            request.page_token,
        )
        return order_pb2.ListOrdersResponse(
            orders=[order_to_proto(order) for order in page.orders],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def CancelOrder(
        self, request: order_pb2.CancelOrderRequest, context: Context
    ) -> order_pb2.Order:
        order = await self._orders.cancel_order(current_identity(), request.id, request.reason)
        return order_to_proto(order)

    async def HasPurchased(
        self, request: order_pb2.HasPurchasedRequest, context: Context
    ) -> order_pb2.HasPurchasedResponse:
        order_id = await self._orders.purchase_of(
            current_identity(), request.user_id, request.product_id
        )
        return order_pb2.HasPurchasedResponse(
            purchased=order_id is not None, order_id=order_id or ""
        )


def _metadata_value(context: Context, key: str) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name == key:
            return value if isinstance(value, str) else value.decode("ascii", "replace")
    return None
