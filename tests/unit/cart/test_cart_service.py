import pytest

from mesh import rbac
from mesh.auth import Identity
from mesh.errors import FailedPreconditionError, NotFoundError, PermissionDeniedError
from mesh.events import Event
from services.cart.adapters.events import completed
from services.cart.adapters.outbox import OutboxRelay
from services.cart.domain.limits import MAX_LINES
from services.cart.domain.model import Availability, Money, ProductInfo
from services.cart.service_layer.carts import CartService

from .cart_fakes import FakeCartStore, FakeCatalog

MUG = ProductInfo("mug", "Mug", Money(1299, "USD"), inventory=500, image_url="")
CUP = ProductInfo("cup", "Cup", Money(250, "USD"), inventory=3, image_url="")
ADA = Identity.from_claims("u1", frozenset({rbac.CUSTOMER}), "ada-token")


def make(*products: ProductInfo) -> tuple[CartService, FakeCartStore, FakeCatalog]:
    store, catalog = FakeCartStore(), FakeCatalog(*products)
    return CartService(store, catalog, "USD"), store, catalog


async def test_adds_accumulate_and_the_cart_is_priced_at_current_prices() -> None:
    carts, _, catalog = make(MUG, CUP)
    await carts.add_item(ADA, "u1", "mug", 2)
    await carts.add_item(ADA, "u1", "cup", 1)
    await carts.add_item(ADA, "u1", "mug", 1)
    catalog.products["mug"] = ProductInfo("mug", "Mug", Money(1000, "USD"), 500, "")
    cart = await carts.get_cart(ADA, "u1")
    assert [(line.product_id, line.quantity) for line in cart.lines] == [("mug", 3), ("cup", 1)]
    assert cart.lines[0].line_total == Money(3000, "USD")
    assert cart.total == Money(3250, "USD")
    assert cart.item_count == 4


async def test_the_product_just_added_is_not_asked_for_again_to_price_the_cart() -> None:
    carts, _, catalog = make(MUG, CUP)
    first = await carts.add_item(ADA, "u1", "mug", 1)
    assert catalog.asked == [] and first.total == Money(1299, "USD")
    second = await carts.add_item(ADA, "u1", "cup", 1)
    assert catalog.asked == [["mug"]] and second.total == Money(1549, "USD")
    third = await carts.update_quantity(ADA, "u1", "cup", 2)
    assert catalog.asked == [["mug"], ["mug"]] and third.total == Money(1799, "USD")


async def test_gone_and_short_lines_are_flagged_and_left_out_of_the_total() -> None:
    carts, _, catalog = make(MUG, CUP)
    await carts.add_item(ADA, "u1", "mug", 1)
    await carts.add_item(ADA, "u1", "cup", 3)
    del catalog.products["mug"]
    catalog.products["cup"] = ProductInfo("cup", "Cup", Money(250, "USD"), 2, "")
    cart = await carts.get_cart(ADA, "u1")
    assert [line.availability for line in cart.lines] == [
        Availability.PRODUCT_GONE,
        Availability.INSUFFICIENT_STOCK,
    ]
    assert cart.lines[0].name == "Mug"  # last known name
    assert cart.total == Money(0, "USD")


async def test_add_needs_an_existing_product_with_stock() -> None:
    carts, _, _ = make(CUP)
    with pytest.raises(FailedPreconditionError) as missing:
        await carts.add_item(ADA, "u1", "nope", 1)
    assert missing.value.reason == "PRODUCT_NOT_FOUND"
    with pytest.raises(FailedPreconditionError) as short:
        await carts.add_item(ADA, "u1", "cup", 4)
    assert short.value.reason == "INSUFFICIENT_STOCK"


async def test_line_and_cart_limits() -> None:
    products = [ProductInfo(f"p{i}", "P", Money(1, "USD"), 1000, "") for i in range(MAX_LINES + 1)]
    carts, _, _ = make(*products)
    await carts.add_item(ADA, "u1", "p0", 99)
    with pytest.raises(FailedPreconditionError) as line:
        await carts.add_item(ADA, "u1", "p0", 1)
    assert line.value.reason == "LINE_QUANTITY_LIMIT"
    for i in range(1, MAX_LINES):
        await carts.add_item(ADA, "u1", f"p{i}", 1)
    with pytest.raises(FailedPreconditionError) as full:
        await carts.add_item(ADA, "u1", f"p{MAX_LINES}", 1)
    assert full.value.reason == "CART_LINE_LIMIT"


async def test_update_quantity_needs_the_line_and_emits_the_difference() -> None:
    carts, store, _ = make(MUG)
    with pytest.raises(NotFoundError):
        await carts.update_quantity(ADA, "u1", "mug", 2)
    await carts.add_item(ADA, "u1", "mug", 5)
    await carts.update_quantity(ADA, "u1", "mug", 2)
    event = completed(store.outbox[-1])
    assert event.event_type == "shop.events.v1.CartItemRemoved"
    assert event.cart_item_removed.quantity == 3


async def test_adds_and_removals_are_published_with_versions() -> None:
    carts, store, _ = make(MUG)
    await carts.add_item(ADA, "u1", "mug", 2)
    await carts.remove_item(ADA, "u1", "mug")
    await carts.remove_item(ADA, "u1", "mug")  # nothing left: no event
    published: list[Event] = []

    class Publisher:
        async def publish(self, event: Event) -> None:
            published.append(event)

    assert await OutboxRelay(store, Publisher()).publish_pending() == 2
    assert [(e.event_type, e.aggregate_id, e.aggregate_version) for e in published] == [
        ("shop.events.v1.CartItemAdded", "u1", 1),
        ("shop.events.v1.CartItemRemoved", "u1", 2),
    ]
    assert published[0].cart_item_added.quantity == 2
    assert published[1].cart_item_removed.unit_price.units == 12
    assert store.outbox == []


async def test_clear_empties_the_cart_without_events() -> None:
    carts, store, _ = make(MUG)
    await carts.add_item(ADA, "u1", "mug", 2)
    await carts.clear_cart(ADA, "u1")
    assert (await carts.get_cart(ADA, "u1")).lines == ()
    assert len(store.outbox) == 1


def caller(subject: str, role: str) -> Identity:
    return Identity.from_claims(subject, frozenset({role}), f"{subject}-token")


async def test_only_the_owner_changes_a_cart() -> None:
    carts, store, _ = make(MUG)
    for intruder in (caller("u2", rbac.CUSTOMER), caller("boss", rbac.ADMIN)):
        with pytest.raises(PermissionDeniedError) as denied:
            await carts.add_item(intruder, "u1", "mug", 1)
        assert denied.value.reason == "NOT_OWNER"
        with pytest.raises(PermissionDeniedError):
            await carts.update_quantity(intruder, "u1", "mug", 1)
        with pytest.raises(PermissionDeniedError):
            await carts.remove_item(intruder, "u1", "mug")
    assert store.carts == {} and store.outbox == []


async def test_staff_and_services_read_and_clear_carts_other_customers_do_not() -> None:
    carts, store, _ = make(MUG)
    await carts.add_item(ADA, "u1", "mug", 2)
    other = caller("u2", rbac.CUSTOMER)
    with pytest.raises(PermissionDeniedError):
        await carts.get_cart(other, "u1")
    with pytest.raises(PermissionDeniedError):
        await carts.clear_cart(other, "u1")
    with pytest.raises(PermissionDeniedError):
        await carts.clear_cart(caller("support", rbac.CUSTOMER_SERVICE), "u1")
    assert (await carts.get_cart(caller("support", rbac.CUSTOMER_SERVICE), "u1")).item_count == 2
    await carts.clear_cart(caller("order", rbac.SERVICE), "u1")
    assert "u1" not in store.carts
