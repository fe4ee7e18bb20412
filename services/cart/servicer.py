"""CartService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any

from google.protobuf import empty_pb2
from grpc import aio
from shop.cart.v1 import cart_pb2, cart_pb2_grpc

from mesh.auth import current_identity

from .adapters.protos import cart_to_proto
from .service_layer.carts import CartService

Context = aio.ServicerContext[Any, Any]


class CartServicer(cart_pb2_grpc.CartServiceServicer):
    def __init__(self, carts: CartService) -> None:
        self._carts = carts

    async def GetCart(self, request: cart_pb2.GetCartRequest, context: Context) -> cart_pb2.Cart:
        return cart_to_proto(await self._carts.get_cart(current_identity(), request.user_id))

    async def AddItem(self, request: cart_pb2.AddItemRequest, context: Context) -> cart_pb2.Cart:
        cart = await self._carts.add_item(
            current_identity(), request.user_id, request.product_id, request.quantity
        )
        return cart_to_proto(cart)

    async def UpdateItemQuantity(
        self, request: cart_pb2.UpdateItemQuantityRequest, context: Context
    ) -> cart_pb2.Cart:
        cart = await self._carts.update_quantity(
            current_identity(), request.user_id, request.product_id, request.quantity
        )
        return cart_to_proto(cart)

    async def RemoveItem(
        self, request: cart_pb2.RemoveItemRequest, context: Context
    ) -> cart_pb2.Cart:
        cart = await self._carts.remove_item(
            current_identity(), request.user_id, request.product_id
        )
        return cart_to_proto(cart)

    async def ClearCart(
        self, request: cart_pb2.ClearCartRequest, context: Context
    ) -> empty_pb2.Empty:
        await self._carts.clear_cart(current_identity(), request.user_id)
        return empty_pb2.Empty()
