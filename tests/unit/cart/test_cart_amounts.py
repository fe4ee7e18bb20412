"""A cart never holds or shows an amount past what the stores keep (a signed 64-bit integer):
units times a price near that limit are refused naming the quantity, never wrapped."""

import pytest

from mesh import rbac
from mesh.auth import Identity
from mesh.errors import InvalidArgumentError
from mesh.money import MAX_MINOR_UNITS
from services.cart.domain.model import Money, ProductInfo
from services.cart.service_layer.carts import CartService

from .cart_fakes import FakeCartStore, FakeCatalog

ADA = Identity.from_claims("u1", frozenset({rbac.CUSTOMER}), "ada-token")
HALF = MAX_MINOR_UNITS // 2 + 1


def product(product_id: str, minor: int) -> ProductInfo:
    return ProductInfo(product_id, product_id.title(), Money(minor, "USD"), 500, "")


def make(*products: ProductInfo) -> tuple[CartService, FakeCartStore, FakeCatalog]:
    store, catalog = FakeCartStore(), FakeCatalog(*products)
    return CartService(store, catalog, "USD"), store, catalog


def quantity_violation(error: pytest.ExceptionInfo[InvalidArgumentError]) -> str:
    (violation,) = error.value.violations
    assert violation.field == "quantity"
    return violation.description


async def test_units_past_the_largest_amount_are_refused_and_nothing_is_stored() -> None:
    carts, store, _ = make(product("yacht", HALF))
    with pytest.raises(InvalidArgumentError) as refused:
        await carts.add_item(ADA, "u1", "yacht", 2)
    assert "yacht" in quantity_violation(refused)
    assert (await store.get("u1")).lines == ()


async def test_a_single_unit_at_the_largest_amount_is_a_valid_cart() -> None:
    carts, _, _ = make(product("yacht", MAX_MINOR_UNITS))
    cart = await carts.add_item(ADA, "u1", "yacht", 1)
    assert cart.total == Money(MAX_MINOR_UNITS, "USD")


async def test_a_price_raised_after_adding_is_refused_on_read_not_wrapped() -> None:
    carts, _, catalog = make(product("yacht", 1000))
    await carts.add_item(ADA, "u1", "yacht", 3)
    catalog.products["yacht"] = product("yacht", HALF)
    with pytest.raises(InvalidArgumentError) as refused:
        await carts.get_cart(ADA, "u1")
    assert "yacht" in quantity_violation(refused)


async def test_lines_that_fit_alone_but_not_together_are_refused() -> None:
    carts, _, _ = make(product("yacht", HALF), product("plane", HALF + 5))
    await carts.add_item(ADA, "u1", "yacht", 1)
    with pytest.raises(InvalidArgumentError) as refused:
        await carts.add_item(ADA, "u1", "plane", 1)
    # The larger line is named: lowering it is what helps most.
    assert "plane" in quantity_violation(refused)
