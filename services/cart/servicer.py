"""CartService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any

from google.protobuf import empty_pb2
from grpc import aio
from shop.cart.v1 import cart_pb2, cart_pb2_grpc

from mesh import rbac
from mesh.auth import current_identity, require_self_or_permission
from mesh.errors import PermissionDeniedError
from services.cart.convert import cart_to_proto
from services.cart.service import CartService

Context = aio.ServicerContext[Any, Any]


class CartServicer(cart_pb2_grpc.CartServiceServicer):
    def __init__(self, carts: CartService) -> None:
        self._carts = carts

    async def GetCart(self, request: cart_pb2.GetCartRequest, context: Context) -> cart_pb2.Cart:
        # The owner, staff who read orders, and the order service at checkout.
        require_self_or_permission(request.user_id, rbac.ORDERS_READ)
        return cart_to_proto(await self._carts.get_cart(request.user_id))

    async def AddItem(self, request: cart_pb2.AddItemRequest, context: Context) -> cart_pb2.Cart:
        _require_owner(request.user_id)
        cart = await self._carts.add_item(request.user_id, request.product_id, request.quantity)
        return cart_to_proto(cart)

    async def UpdateItemQuantity(
        self, request: cart_pb2.UpdateItemQuantityRequest, context: Context
    ) -> cart_pb2.Cart:
        _require_owner(request.user_id)
        cart = await self._carts.update_quantity(
            request.user_id, request.product_id, request.quantity
        )
        return cart_to_proto(cart)

    async def RemoveItem(
        self, request: cart_pb2.RemoveItemRequest, context: Context
    ) -> cart_pb2.Cart:
        _require_owner(request.user_id)
        return cart_to_proto(await self._carts.remove_item(request.user_id, request.product_id))

    async def ClearCart(
        self, request: cart_pb2.ClearCartRequest, context: Context
    ) -> empty_pb2.Empty:
        # The owner, or the order service after checkout (also in its crash recovery).
        require_self_or_permission(request.user_id, rbac.ORDERS_WRITE)
        await self._carts.clear_cart(request.user_id)
        return empty_pb2.Empty()


def _require_owner(user_id: str) -> None:
    """Only the user changes their cart: not staff, not services."""
    if current_identity().subject != user_id:
        raise PermissionDeniedError("only the cart's owner may change it", reason="NOT_OWNER")
