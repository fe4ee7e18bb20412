"""Per-method authorization on the sidecars: the callers policy.yaml lists get through, everyone
else gets PERMISSION_DENIED from the sidecar before the service sees the call."""

from __future__ import annotations

import secrets
from typing import Any

import grpc
import pytest
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.common.v1 import common_pb2
from shop.payment.v1 import payment_pb2, payment_pb2_grpc

from launcher.testing import RunningPlatform

from .meshclient import bearer, product_with_stock, service_token, workload_channel

pytestmark = pytest.mark.integration


def _charge() -> payment_pb2.ChargeRequest:
    order_id = f"mesh-{secrets.token_hex(6)}"
    return payment_pb2.ChargeRequest(
        order_id=order_id,
        amount=common_pb2.Money(currency_code="USD", units=3, nanos=500_000_000),
        payment_token="tok_visa",
        idempotency_key=order_id,
        user_id=f"user-{secrets.token_hex(4)}",
        description=f"shopmesh order {order_id}",
    )


async def _charge_as(platform: RunningPlatform, caller: str, token: str) -> Any:
    async with workload_channel(platform, caller, "payment") as channel:
        stub: Any = payment_pb2_grpc.PaymentServiceStub(channel)
        return await stub.Charge(_charge(), metadata=bearer(token), timeout=15)


async def _reserve_as(platform: RunningPlatform, caller: str, token: str, product: str) -> Any:
    request = catalog_pb2.ReserveStockRequest(
        order_id=f"mesh-{secrets.token_hex(6)}",
        items=[catalog_pb2.StockItem(product_id=product, quantity=1)],
    )
    async with workload_channel(platform, caller, "catalog") as channel:
        stub: Any = catalog_pb2_grpc.CatalogServiceStub(channel)
        return await stub.ReserveStock(request, metadata=bearer(token), timeout=15)


def _denied_by_sidecar(error: grpc.aio.AioRpcError) -> bool:
    return error.code() == grpc.StatusCode.PERMISSION_DENIED and "RBAC" in (error.details() or "")


async def test_cart_may_not_charge_but_order_may(shop_mesh_platform: RunningPlatform) -> None:
    # A valid service token: only the mesh identity decides.
    cart_token = await service_token(shop_mesh_platform, "cart")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _charge_as(shop_mesh_platform, "cart", cart_token)
    assert _denied_by_sidecar(caught.value), caught.value

    order_token = await service_token(shop_mesh_platform, "order")
    payment = await _charge_as(shop_mesh_platform, "order", order_token)
    assert payment.id


async def test_review_may_not_reserve_stock_but_order_may(
    shop_mesh_platform: RunningPlatform,
) -> None:
    product = await product_with_stock(shop_mesh_platform)
    review_token = await service_token(shop_mesh_platform, "review")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _reserve_as(shop_mesh_platform, "review", review_token, product)
    assert _denied_by_sidecar(caught.value), caught.value

    order_token = await service_token(shop_mesh_platform, "order")
    reservation = await _reserve_as(shop_mesh_platform, "order", order_token, product)
    assert [item.product_id for item in reservation.items] == [product]


async def test_the_developer_identity_is_denied_the_services_methods(
    shop_mesh_platform: RunningPlatform,
) -> None:
    async with workload_channel(shop_mesh_platform, "developer", "catalog") as channel:
        stub: Any = catalog_pb2_grpc.CatalogServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListCategories(catalog_pb2.ListCategoriesRequest(), timeout=10)
    assert _denied_by_sidecar(caught.value), caught.value
