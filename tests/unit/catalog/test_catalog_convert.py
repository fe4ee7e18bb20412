from __future__ import annotations

from datetime import UTC, datetime

import pytest
from shop.common.v1 import common_pb2

from mesh.errors import InvalidArgumentError
from services.catalog.adapters.protos import (
    ProductMessages,
    money_from_proto,
    money_to_proto,
    product_to_proto,
)
from services.catalog.domain.model import Product
from services.catalog.domain.money import Money


def proto(currency: str, units: int, nanos: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code=currency, units=units, nanos=nanos)


def test_money_converts_between_units_nanos_and_minor_units() -> None:
    assert money_from_proto(proto("USD", 12, 990_000_000), "product.price") == Money(1299, "USD")
    assert money_to_proto(Money(1299, "USD")) == proto("USD", 12, 990_000_000)
    assert money_from_proto(proto("JPY", 500, 0), "product.price") == Money(500, "JPY")
    with pytest.raises(InvalidArgumentError) as caught:
        money_from_proto(proto("USD", 1, 5), "product.price")
    assert [v.field for v in caught.value.violations] == ["product.price"]


def _product(version: int, inventory: int) -> Product:
    at = datetime(2026, 12, 3, tzinfo=UTC)
    return Product(
        "p1", "Kettle", "", Money(1299, "USD"), "kitchen", "", inventory, {}, at, at, version
    )


def test_a_product_object_is_built_into_a_message_once() -> None:
    messages = ProductMessages()
    product = _product(1, 5)
    first = messages.of(product)
    assert messages.of(product) is first
    assert first == product_to_proto(product)


def test_another_object_gets_its_own_message_even_with_the_same_version() -> None:
    messages = ProductMessages()
    assert messages.of(_product(1, 5)).inventory == 5
    assert messages.of(_product(1, 4)).inventory == 4  # never served from the other's entry


def test_the_least_recently_served_messages_are_dropped_first() -> None:
    messages = ProductMessages(size=2)
    kept, dropped, newer = _product(1, 1), _product(2, 2), _product(3, 3)
    kept_message = messages.of(kept)
    dropped_message = messages.of(dropped)
    messages.of(kept)
    messages.of(newer)
    assert messages.of(kept) is kept_message
    assert messages.of(dropped) is not dropped_message
