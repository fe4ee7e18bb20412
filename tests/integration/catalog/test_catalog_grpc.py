"""The catalog on real FerretDB and Kafka, behind real grpc.aio servers."""

from __future__ import annotations

import asyncio
from collections import Counter

import grpc
import pytest
from google.protobuf import field_mask_pb2
from shop.catalog.v1 import catalog_pb2
from shop.events.v1 import events_pb2
from shop.review.v1 import review_pb2

from mesh import rbac
from mesh.events import EventPublisher, new_event

from ..service_harness import TokenKeys, read_events, usd
from .catalog_harness import catalog_environ, catalog_server, catalog_stub, new_product

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keys() -> TokenKeys:
    return TokenKeys()


@pytest.fixture
def environ(ferretdb_url: str, kafka_bootstrap: str, redis_url: str) -> dict[str, str]:
    return catalog_environ(ferretdb_url, kafka_bootstrap, redis_url)


def reserve(order_id: str, *items: tuple[str, int]) -> catalog_pb2.ReserveStockRequest:
    return catalog_pb2.ReserveStockRequest(
        order_id=order_id,
        items=[catalog_pb2.StockItem(product_id=pid, quantity=qty) for pid, qty in items],
    )


async def test_100_concurrent_reservations_of_10_units_leave_exactly_zero(
    environ: dict[str, str], keys: TokenKeys
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    service = keys.metadata("service:order", rbac.SERVICE)
    # Two instances on one database: the guarantee must hold across replicas, not just
    # between the coroutines of one process.
    async with (
        catalog_server(environ, keys) as first,
        catalog_server(environ, keys) as second,
        catalog_stub(first.address) as stub_a,
        catalog_stub(second.address) as stub_b,
    ):
        product = await stub_a.CreateProduct(new_product(inventory=10), metadata=admin)

        async def attempt(i: int) -> grpc.StatusCode:
            stub = stub_a if i % 2 else stub_b
            try:
                await stub.ReserveStock(reserve(f"order-{i}", (product.id, 1)), metadata=service)
                return grpc.StatusCode.OK
            except grpc.aio.AioRpcError as error:
                return error.code()

        outcomes = Counter(await asyncio.gather(*(attempt(i) for i in range(100))))
        assert outcomes == {grpc.StatusCode.OK: 10, grpc.StatusCode.FAILED_PRECONDITION: 90}
        for stub in (stub_a, stub_b):
            stored = await stub.GetProduct(catalog_pb2.GetProductRequest(id=product.id))
            assert stored.inventory == 0
            assert stored.version == 11  # created + 10 reservations


async def test_reserve_and_release_are_idempotent_per_order(
    environ: dict[str, str], keys: TokenKeys
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    service = keys.metadata("service:order", rbac.SERVICE)
    async with catalog_server(environ, keys) as server, catalog_stub(server.address) as stub:
        mug = await stub.CreateProduct(new_product(inventory=5), metadata=admin)
        cup = await stub.CreateProduct(new_product("Cup", inventory=4), metadata=admin)
        request = reserve("order-1", (mug.id, 2), (cup.id, 3))
        first, again = await asyncio.gather(
            stub.ReserveStock(request, metadata=service),
            stub.ReserveStock(request, metadata=service),
        )
        assert first == again
        assert [(i.product_id, i.remaining_inventory) for i in first.items] == [
            (mug.id, 3),
            (cup.id, 1),
        ]
        released = [
            await stub.ReleaseStock(
                catalog_pb2.ReleaseStockRequest(order_id="order-1"), metadata=service
            )
            for _ in range(2)
        ]
        assert [r.released for r in released] == [True, False]
        batch = await stub.BatchGetProducts(
            catalog_pb2.BatchGetProductsRequest(ids=[mug.id, "gone", cup.id])
        )
        assert [(p.id, p.inventory) for p in batch.products] == [(mug.id, 5), (cup.id, 4)]
        assert list(batch.missing_ids) == ["gone"]
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await stub.ReserveStock(request, metadata=service)
        assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_short_item_reserves_nothing(environ: dict[str, str], keys: TokenKeys) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    service = keys.metadata("service:order", rbac.SERVICE)
    async with catalog_server(environ, keys) as server, catalog_stub(server.address) as stub:
        mug = await stub.CreateProduct(new_product(inventory=5), metadata=admin)
        cup = await stub.CreateProduct(new_product("Cup", inventory=1), metadata=admin)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.ReserveStock(reserve("order-2", (mug.id, 2), (cup.id, 2)), metadata=service)
        assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        stored = await stub.GetProduct(catalog_pb2.GetProductRequest(id=mug.id))
        assert stored.inventory == 5


async def test_pages_stay_stable_while_products_are_added(
    environ: dict[str, str], keys: TokenKeys
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    async with catalog_server(environ, keys) as server, catalog_stub(server.address) as stub:
        originals = [
            (await stub.CreateProduct(new_product(f"Mug {i}"), metadata=admin)).id for i in range(7)
        ]
        await stub.CreateProduct(new_product("Other", category="toys"), metadata=admin)
        page = await stub.ListProducts(
            catalog_pb2.ListProductsRequest(category="kitchen", page_size=3)
        )
        assert page.total_size == 7
        seen = [p.id for p in page.products]
        added = []
        while page.next_page_token:
            added.append((await stub.CreateProduct(new_product("Late"), metadata=admin)).id)
            page = await stub.ListProducts(
                catalog_pb2.ListProductsRequest(
                    category="kitchen", page_size=3, page_token=page.next_page_token
                )
            )
            seen.extend(p.id for p in page.products)
        assert seen[:7] == originals
        assert len(seen) == len(set(seen))
        assert set(seen[7:]) <= set(added)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.ListProducts(
                catalog_pb2.ListProductsRequest(category="toys", page_token="garbage")
            )
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_every_change_is_published_with_the_products_version(
    environ: dict[str, str], keys: TokenKeys, kafka_bootstrap: str
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    service = keys.metadata("service:order", rbac.SERVICE)
    async with catalog_server(environ, keys) as server, catalog_stub(server.address) as stub:
        mug = await stub.CreateProduct(new_product(inventory=5), metadata=admin)
        await stub.UpdateProduct(
            catalog_pb2.UpdateProductRequest(
                product=catalog_pb2.Product(id=mug.id, price=usd(999), version=1),
                update_mask=field_mask_pb2.FieldMask(paths=["price"]),
            ),
            metadata=admin,
        )
        await stub.ReserveStock(reserve("order-3", (mug.id, 2)), metadata=service)
        await stub.ReleaseStock(
            catalog_pb2.ReleaseStockRequest(order_id="order-3"), metadata=service
        )
        await stub.DeleteProduct(catalog_pb2.DeleteProductRequest(id=mug.id), metadata=admin)
        events = await read_events(
            kafka_bootstrap, "shop.product.events", mug.id, lambda found: len(found) >= 5
        )
    assert [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in events] == [
        ("ProductCreated", 1),
        ("ProductUpdated", 2),
        ("StockChanged", 3),
        ("StockChanged", 4),
        ("ProductDeleted", 5),
    ]
    assert events[1].product_updated.product.price.units == 9
    assert [e.stock_changed.delta for e in events[2:4]] == [-2, 2]
    assert len({e.event_id for e in events}) == 5


async def test_callers_are_checked(environ: dict[str, str], keys: TokenKeys) -> None:
    customer = keys.metadata("user-1", rbac.CUSTOMER)
    async with catalog_server(environ, keys) as server, catalog_stub(server.address) as stub:
        for call in (
            stub.CreateProduct(new_product(), metadata=customer),
            stub.ReserveStock(reserve("order-4", ("p", 1)), metadata=customer),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await call
            assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetProduct(catalog_pb2.GetProductRequest(id="nope"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_ratings_follow_the_review_events(
    environ: dict[str, str], keys: TokenKeys, kafka_bootstrap: str
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    environ = {**environ, "CATALOG_CONSUME_REVIEW_EVENTS": "true"}
    async with catalog_server(environ, keys) as server, catalog_stub(server.address) as stub:
        mug = await stub.CreateProduct(new_product(), metadata=admin)
        publisher = EventPublisher(kafka_bootstrap, client_id="review-test")
        await publisher.start()
        try:
            summary = review_pb2.RatingSummary(product_id=mug.id, average=4.5, count=2, version=2)
            await publisher.publish(
                new_event(
                    events_pb2.ReviewCreated(
                        review=review_pb2.Review(id="r2", product_id=mug.id, rating=5),
                        rating_summary=summary,
                    ),
                    aggregate_type="review",
                    aggregate_id="r2",
                    aggregate_version=1,
                    producer="review",
                )
            )
        finally:
            await publisher.stop()
        async with asyncio.timeout(30):
            while (
                rated := await stub.GetProduct(catalog_pb2.GetProductRequest(id=mug.id))
            ).rating_count != 2:
                await asyncio.sleep(0.2)
    assert (rated.rating_average, rated.version) == (4.5, 2)
