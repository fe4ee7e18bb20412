from datetime import UTC, datetime, timedelta

import pytest

from mesh.errors import AbortedError, InvalidArgumentError
from services.catalog.domain import model
from services.catalog.domain.model import InsufficientStock, ProductDraft
from services.catalog.domain.money import Money
from services.catalog.domain.pagination import PageCursor

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DRAFT = ProductDraft(name="Mug", price=Money(1299, "USD"), category="kitchen", inventory=5)


def test_a_new_product_starts_at_version_one() -> None:
    product = model.create_product("p1", DRAFT, T0)
    assert (product.version, product.inventory, product.created_at) == (1, 5, T0)


def test_a_product_needs_a_price_and_a_valid_category() -> None:
    with pytest.raises(InvalidArgumentError):
        model.create_product("p1", ProductDraft(name="Mug", category="kitchen"), T0)
    with pytest.raises(InvalidArgumentError) as error:
        model.create_product(
            "p1", ProductDraft(name="Mug", price=Money(1, "USD"), category="A B"), T0
        )
    assert error.value.violations[0].field == "product.category"


def test_update_changes_only_the_masked_fields_and_bumps_the_version() -> None:
    product = model.create_product("p1", DRAFT, T0)
    later = T0 + timedelta(seconds=1)
    updated = model.update_product(
        product, ProductDraft(name="Cup", inventory=99), frozenset({"name"}), later
    )
    assert (updated.name, updated.inventory, updated.version, updated.updated_at) == (
        "Cup",
        5,
        2,
        later,
    )


def test_update_rejects_output_only_fields_and_stale_versions() -> None:
    product = model.create_product("p1", DRAFT, T0)
    with pytest.raises(InvalidArgumentError):
        model.update_product(product, DRAFT, frozenset({"version"}), T0)
    with pytest.raises(AbortedError):
        model.update_product(product, DRAFT, frozenset({"name"}), T0, expected_version=7)


def test_reserve_never_takes_more_than_the_inventory() -> None:
    product = model.create_product("p1", DRAFT, T0)
    assert model.reserve(product, 5, T0).inventory == 0
    with pytest.raises(InsufficientStock) as error:
        model.reserve(product, 6, T0)
    assert (error.value.requested, error.value.available) == (6, 5)


def test_page_cursor_round_trips_and_is_bound_to_its_category() -> None:
    cursor = PageCursor(T0, "p1", "kitchen")
    assert PageCursor.decode(cursor.encode(), "kitchen") == cursor
    with pytest.raises(InvalidArgumentError):
        PageCursor.decode(cursor.encode(), "toys")
    with pytest.raises(InvalidArgumentError):
        PageCursor.decode("not-a-token!", "kitchen")
