"""The cart on real Valkey and Kafka, pricing from a real catalog, behind grpc.aio servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf import field_mask_pb2
from shop.cart.v1 import cart_pb2
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from mesh import rbac

from ..catalog.catalog_harness import catalog_environ, catalog_server, catalog_stub, new_product
from ..service_harness import Running, TokenKeys, read_events, usd
from .cart_harness import cart_environ, cart_server, cart_stub, new_user

pytestmark = pytest.mark.integration


@dataclass
class Shop:
    keys: TokenKeys
    catalog: catalog_pb2_grpc.CatalogServiceAsyncStub
    catalog_server: Running
    redis_url: str
    kafka_bootstrap: str

    async def product(self, inventory: int = 1000, price: int = 1299) -> catalog_pb2.Product:
        admin = self.keys.metadata("admin-1", rbac.ADMIN)
        return await self.catalog.CreateProduct(
            new_product(inventory=inventory, price=price), metadata=admin
        )


@pytest.fixture
async def shop(ferretdb_url: str, kafka_bootstrap: str, redis_url: str) -> AsyncIterator[Shop]:
    keys = TokenKeys()
    async with (
        catalog_server(catalog_environ(ferretdb_url, kafka_bootstrap), keys) as server,
        catalog_stub(server.address) as stub,
    ):
        yield Shop(keys, stub, server, redis_url, kafka_bootstrap)


def add(user: str, product_id: str, quantity: int) -> cart_pb2.AddItemRequest:
    return cart_pb2.AddItemRequest(user_id=user, product_id=product_id, quantity=quantity)


async def test_50_concurrent_adds_to_one_cart_lose_nothing(shop: Shop) -> None:
    user = new_user()
    owner = shop.keys.metadata(user, rbac.CUSTOMER)
    product = await shop.product()
    environ = cart_environ(shop.redis_url, shop.kafka_bootstrap, shop.catalog_server)
    # Two instances, like two devices reaching two replicas.
    async with (
        cart_server(environ, shop.keys) as first,
        cart_server(environ, shop.keys) as second,
        cart_stub(first.address) as stub_a,
        cart_stub(second.address) as stub_b,
    ):
        quantities = [i % 2 + 1 for i in range(50)]
        await asyncio.gather(
            *(
                (stub_a if i % 2 else stub_b).AddItem(add(user, product.id, q), metadata=owner)
                for i, q in enumerate(quantities)
            )
        )
        cart = await stub_a.GetCart(cart_pb2.GetCartRequest(user_id=user), metadata=owner)
        assert [(item.product_id, item.quantity) for item in cart.items] == [
            (product.id, sum(quantities))
        ]
        assert cart.total == usd(1299 * sum(quantities))
        events = await read_events(
            shop.kafka_bootstrap,
            "shop.cart.events",
            user,
            lambda found: len({e.event_id for e in found}) >= 50,
        )
    # At least once: a redelivery repeats an event id, never invents another one.
    unique = {e.event_id: e for e in events}.values()
    assert sorted(e.cart_item_added.quantity for e in unique) == sorted(quantities)
    assert len({e.aggregate_version for e in unique}) == 50


async def test_cart_is_priced_at_current_catalog_state(shop: Shop) -> None:
    user = new_user()
    owner = shop.keys.metadata(user, rbac.CUSTOMER)
    admin = shop.keys.metadata("admin-1", rbac.ADMIN)
    mug, cup, pen = await shop.product(price=1000), await shop.product(), await shop.product()
    environ = cart_environ(shop.redis_url, shop.kafka_bootstrap, shop.catalog_server)
    async with cart_server(environ, shop.keys) as server, cart_stub(server.address) as stub:
        for product, quantity in ((mug, 2), (cup, 1), (pen, 3)):
            await stub.AddItem(add(user, product.id, quantity), metadata=owner)
        await shop.catalog.UpdateProduct(
            catalog_pb2.UpdateProductRequest(
                product=catalog_pb2.Product(id=mug.id, price=usd(800)),
                update_mask=field_mask_pb2.FieldMask(paths=["price"]),
            ),
            metadata=admin,
        )
        await shop.catalog.DeleteProduct(
            catalog_pb2.DeleteProductRequest(id=cup.id), metadata=admin
        )
        await shop.catalog.UpdateProduct(
            catalog_pb2.UpdateProductRequest(
                product=catalog_pb2.Product(id=pen.id, inventory=0),
                update_mask=field_mask_pb2.FieldMask(paths=["inventory"]),
            ),
            metadata=admin,
        )
        cart = await stub.GetCart(cart_pb2.GetCartRequest(user_id=user), metadata=owner)
    assert [(i.product_id, i.availability) for i in cart.items] == [
        (mug.id, cart_pb2.ITEM_AVAILABILITY_IN_STOCK),
        (cup.id, cart_pb2.ITEM_AVAILABILITY_PRODUCT_GONE),
        (pen.id, cart_pb2.ITEM_AVAILABILITY_OUT_OF_STOCK),
    ]
    assert cart.items[0].line_total == usd(1600)
    assert cart.items[1].name == "Mug"  # last known name of the deleted product
    assert cart.total == usd(1600)
    assert cart.item_count == 6


async def test_limits_and_stock_are_enforced(shop: Shop) -> None:
    user = new_user()
    owner = shop.keys.metadata(user, rbac.CUSTOMER)
    scarce = await shop.product(inventory=3)
    plenty = await shop.product()
    environ = cart_environ(shop.redis_url, shop.kafka_bootstrap, shop.catalog_server)
    async with cart_server(environ, shop.keys) as server, cart_stub(server.address) as stub:
        await stub.AddItem(add(user, plenty.id, 99), metadata=owner)
        for request in (add(user, plenty.id, 1), add(user, scarce.id, 4), add(user, "gone", 1)):
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await stub.AddItem(request, metadata=owner)
            assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await stub.AddItem(add(user, plenty.id, 100), metadata=owner)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        others = [await shop.product() for _ in range(49)]
        for product in others:
            await stub.AddItem(add(user, product.id, 1), metadata=owner)
        with pytest.raises(grpc.aio.AioRpcError) as full:
            await stub.AddItem(add(user, scarce.id, 1), metadata=owner)
        assert full.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "50 lines" in (full.value.details() or "")


async def test_only_the_owner_staff_and_the_order_service_reach_a_cart(shop: Shop) -> None:
    user, intruder = new_user(), new_user()
    owner = shop.keys.metadata(user, rbac.CUSTOMER)
    product = await shop.product()
    environ = cart_environ(shop.redis_url, shop.kafka_bootstrap, shop.catalog_server)
    async with cart_server(environ, shop.keys) as server, cart_stub(server.address) as stub:
        await stub.AddItem(add(user, product.id, 2), metadata=owner)
        for call in (
            stub.GetCart(
                cart_pb2.GetCartRequest(user_id=user),
                metadata=shop.keys.metadata(intruder, rbac.CUSTOMER),
            ),
            stub.AddItem(
                add(user, product.id, 1), metadata=shop.keys.metadata(intruder, rbac.CUSTOMER)
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await call
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        staff = shop.keys.metadata("support-1", rbac.CUSTOMER_SERVICE)
        seen = await stub.GetCart(cart_pb2.GetCartRequest(user_id=user), metadata=staff)
        assert seen.item_count == 2
        order_service = shop.keys.metadata("service:order", rbac.SERVICE)
        await stub.ClearCart(cart_pb2.ClearCartRequest(user_id=user), metadata=order_service)
        cleared = await stub.GetCart(cart_pb2.GetCartRequest(user_id=user), metadata=owner)
        assert list(cleared.items) == []


async def test_a_cart_expires_after_its_ttl_without_writes(shop: Shop) -> None:
    user = new_user()
    owner = shop.keys.metadata(user, rbac.CUSTOMER)
    product = await shop.product()
    environ = cart_environ(shop.redis_url, shop.kafka_bootstrap, shop.catalog_server, 2)
    async with cart_server(environ, shop.keys) as server, cart_stub(server.address) as stub:
        cart = await stub.AddItem(add(user, product.id, 1), metadata=owner)
        lifetime = cart.expire_time.ToDatetime() - cart.update_time.ToDatetime()
        assert 0 < lifetime.total_seconds() <= 2.5
        await asyncio.sleep(2.5)
        expired = await stub.GetCart(cart_pb2.GetCartRequest(user_id=user), metadata=owner)
        assert list(expired.items) == []


async def test_adds_and_removals_are_published_in_order(shop: Shop) -> None:
    user = new_user()
    owner = shop.keys.metadata(user, rbac.CUSTOMER)
    product = await shop.product()
    environ = cart_environ(shop.redis_url, shop.kafka_bootstrap, shop.catalog_server)
    async with cart_server(environ, shop.keys) as server, cart_stub(server.address) as stub:
        await stub.AddItem(add(user, product.id, 3), metadata=owner)
        await stub.UpdateItemQuantity(
            cart_pb2.UpdateItemQuantityRequest(user_id=user, product_id=product.id, quantity=5),
            metadata=owner,
        )
        await stub.RemoveItem(
            cart_pb2.RemoveItemRequest(user_id=user, product_id=product.id), metadata=owner
        )
        events = await read_events(
            shop.kafka_bootstrap, "shop.cart.events", user, lambda found: len(found) >= 3
        )
    assert [e.event_type.rsplit(".", 1)[1] for e in events] == [
        "CartItemAdded",
        "CartItemAdded",
        "CartItemRemoved",
    ]
    assert [e.cart_item_added.quantity for e in events[:2]] == [3, 2]
    assert events[2].cart_item_removed.quantity == 5
    versions = [e.aggregate_version for e in events]
    assert versions == sorted(versions) and len(set(versions)) == 3
