"""The other services the review service asks: catalog (does the product exist), order (did
the author buy it) and user (the author's display name), behind small ports."""

from __future__ import annotations

import logging

import grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.order.v1 import order_pb2, order_pb2_grpc
from shop.user.v1 import user_pb2, user_pb2_grpc

from mesh.errors import UnavailableError

logger = logging.getLogger(__name__)


class CatalogProducts:
    def __init__(self, stub: catalog_pb2_grpc.CatalogServiceAsyncStub) -> None:
        self._stub = stub

    async def exists(self, product_id: str) -> bool:
        try:
            await self._stub.GetProduct(catalog_pb2.GetProductRequest(id=product_id))
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return False
            raise UnavailableError(
                "the catalog could not confirm the product", reason="CATALOG_UNAVAILABLE"
            ) from error
        return True


class OrderPurchases:
    """HasPurchased is internal: the channel must send the service's own token."""

    def __init__(self, stub: order_pb2_grpc.OrderServiceAsyncStub) -> None:
        self._stub = stub

    async def has_purchased(self, user_id: str, product_id: str) -> bool:
        try:
            reply = await self._stub.HasPurchased(
                order_pb2.HasPurchasedRequest(user_id=user_id, product_id=product_id)
            )
        except grpc.aio.AioRpcError as error:
            # The badge is a bonus: a review is not refused because the order service is down.
            logger.warning("purchase check failed, review not verified: %s", error.code())
            return False
        return reply.purchased


class UserProfiles:
    """Called with the author's own token (a user may read themselves)."""

    def __init__(self, stub: user_pb2_grpc.UserServiceAsyncStub) -> None:
        self._stub = stub

    async def display_name(self, user_id: str) -> str:
        try:
            user = await self._stub.GetUser(user_pb2.GetUserRequest(id=user_id))
        except grpc.aio.AioRpcError as error:
            logger.warning("author name unavailable: %s", error.code())
            return ""
        return user.display_name
