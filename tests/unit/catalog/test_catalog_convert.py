from __future__ import annotations

import pytest
from shop.common.v1 import common_pb2

from mesh.errors import InvalidArgumentError
from services.catalog.adapters.protos import money_from_proto, money_to_proto
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
