import itertools
from datetime import UTC, datetime, timedelta

import pytest
from shop.events.v1 import events_pb2
from shop.review.v1 import review_pb2

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.errors import FailedPreconditionError, NotFoundError, PermissionDeniedError
from mesh.events import Event
from services.catalog.adapters.review_events import RatingUpdater
from services.catalog.domain.changes import ChangeKind
from services.catalog.domain.model import ProductDraft
from services.catalog.domain.money import Money
from services.catalog.domain.reservations import StockLine
from services.catalog.service_layer.catalog import CatalogService

from .catalog_fakes import FakeCatalogStore

STAFF = Identity.from_claims("admin-1", frozenset({rbac.ADMIN}), "token")
ORDERS = Identity.from_claims("service:order", frozenset({rbac.SERVICE}), "token")
SHOPPER = Identity.from_claims("user-1", frozenset({rbac.CUSTOMER}), "token")


def make_service() -> tuple[CatalogService, FakeCatalogStore]:
    store = FakeCatalogStore()
    ticks = itertools.count()
    ids = itertools.count(1)
    service = CatalogService(
        store,
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=next(ticks)),
        ids=lambda: f"p{next(ids):03d}",
    )
    return service, store


def draft(inventory: int = 10, category: str = "kitchen") -> ProductDraft:
    return ProductDraft(
        name="Mug", price=Money(1299, "USD"), category=category, inventory=inventory
    )


async def test_reserve_is_all_or_nothing() -> None:
    service, store = make_service()
    mug = await service.create_product(STAFF, draft(inventory=5))
    cup = await service.create_product(STAFF, draft(inventory=1))
    with pytest.raises(FailedPreconditionError) as error:
        await service.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 2), StockLine(cup.id, 2)])
    assert error.value.reason == "INSUFFICIENT_STOCK"
    assert error.value.violations[0].subject == f"products/{cup.id}"
    assert (await service.get_product(mug.id)).inventory == 5
    assert (await service.get_product(cup.id)).inventory == 1


async def test_reserve_is_idempotent_per_order() -> None:
    service, _ = make_service()
    mug = await service.create_product(STAFF, draft(inventory=5))
    first = await service.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 2)])
    again = await service.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 2)])
    assert first == again
    assert first[0].remaining_inventory == 3
    assert (await service.get_product(mug.id)).inventory == 3


async def test_an_order_id_cannot_reserve_other_items() -> None:
    service, _ = make_service()
    mug = await service.create_product(STAFF, draft())
    await service.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 2)])
    with pytest.raises(FailedPreconditionError) as error:
        await service.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 3)])
    assert error.value.reason == "ORDER_ID_REUSED"


async def test_release_puts_stock_back_once() -> None:
    service, _ = make_service()
    mug = await service.create_product(STAFF, draft(inventory=5))
    await service.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 2)])
    assert await service.release_stock(ORDERS, "o1") is True
    assert await service.release_stock(ORDERS, "o1") is False
    assert (await service.get_product(mug.id)).inventory == 5
    with pytest.raises(FailedPreconditionError) as error:
        await service.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 2)])
    assert error.value.reason == "RESERVATION_RELEASED"


async def test_releasing_an_unknown_order_blocks_a_late_reserve() -> None:
    service, _ = make_service()
    mug = await service.create_product(STAFF, draft(inventory=5))
    assert await service.release_stock(ORDERS, "o1") is False
    with pytest.raises(FailedPreconditionError):
        await service.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 1)])
    assert (await service.get_product(mug.id)).inventory == 5


async def test_reserving_a_missing_product_fails_cleanly() -> None:
    service, _ = make_service()
    with pytest.raises(FailedPreconditionError) as error:
        await service.reserve_stock(ORDERS, "o1", [StockLine("nope", 1)])
    assert error.value.reason == "PRODUCT_NOT_FOUND"


async def test_every_change_is_recorded_with_the_products_version() -> None:
    service, store = make_service()
    mug = await service.create_product(STAFF, draft(inventory=5))
    await service.update_product(STAFF, mug.id, ProductDraft(name="Cup"), frozenset({"name"}), 0)
    await service.update_product(
        STAFF, mug.id, ProductDraft(inventory=7), frozenset({"inventory"}), 0
    )
    await service.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 2)])
    await service.release_stock(ORDERS, "o1")
    await service.delete_product(STAFF, mug.id)
    assert [(c.kind, c.version) for c in store.changes] == [
        (ChangeKind.CREATED, 1),
        (ChangeKind.UPDATED, 2),
        (ChangeKind.STOCK_ADJUSTED, 3),
        (ChangeKind.STOCK_RESERVED, 4),
        (ChangeKind.STOCK_RELEASED, 5),
        (ChangeKind.DELETED, 6),
    ]
    assert store.changes[2].inventory_delta == 2
    with pytest.raises(NotFoundError):
        await service.get_product(mug.id)


async def test_pages_do_not_shift_when_products_are_added() -> None:
    service, _ = make_service()
    created = [await service.create_product(STAFF, draft()) for _ in range(5)]
    first = await service.list_products("kitchen", 2, "")
    await service.create_product(STAFF, draft())
    rest = []
    token = first.next_page_token
    while token:
        page = await service.list_products("kitchen", 2, token)
        rest.extend(page.products)
        token = page.next_page_token
    seen = [p.id for p in first.products + rest]
    assert seen[:5] == [p.id for p in created]
    assert len(seen) == len(set(seen)) == 6


async def test_batch_get_lists_missing_ids_in_request_order() -> None:
    service, _ = make_service()
    mug = await service.create_product(STAFF, draft())
    found, missing = await service.batch_get(["x", mug.id, "y"])
    assert [p.id for p in found] == [mug.id]
    assert missing == ["x", "y"]


async def test_ratings_keep_only_the_newest_summary() -> None:
    service, store = make_service()
    mug = await service.create_product(STAFF, draft())
    updater = RatingUpdater(service)
    newer = review_event(mug.id, average=4.5, count=2, version=2)
    older = review_event(mug.id, average=5.0, count=1, version=1)
    for event in (newer, older, newer):
        await updater(event)
    rated = await service.get_product(mug.id)
    assert (rated.rating_average, rated.rating_count, rated.version) == (4.5, 2, 2)
    assert store.changes[-1].update_mask == ("rating_average", "rating_count")
    await updater(review_event("unknown", average=1.0, count=1, version=1))


def review_event(product_id: str, *, average: float, count: int, version: int) -> Event:
    summary = review_pb2.RatingSummary(
        product_id=product_id, average=average, count=count, version=version
    )
    return Event(review_created=events_pb2.ReviewCreated(rating_summary=summary))


async def test_changes_and_stock_moves_need_their_callers() -> None:
    service, store = make_service()
    with pytest.raises(PermissionDeniedError) as denied:
        await service.create_product(SHOPPER, draft())
    assert denied.value.reason == "MISSING_PERMISSION"
    mug = await service.create_product(STAFF, draft())
    for move in (
        service.reserve_stock(SHOPPER, "o1", [StockLine(mug.id, 1)]),
        service.release_stock(SHOPPER, "o1"),
    ):
        with pytest.raises(PermissionDeniedError) as refused:
            await move
        assert refused.value.reason == "NOT_INTERNAL_CALLER"
    assert (await service.reserve_stock(STAFF, "o2", [StockLine(mug.id, 1)]))[0].quantity == 1
    assert [c.kind for c in store.changes] == [ChangeKind.CREATED, ChangeKind.STOCK_RESERVED]
