from __future__ import annotations

import pytest
from shop.common.v1 import common_pb2

from mesh.errors import InvalidArgumentError
from mesh.money import MinorUnits, from_minor_units, to_minor_units


@pytest.mark.parametrize(
    ("units", "nanos", "currency", "minor"),
    [
        (12, 990_000_000, "USD", 1299),
        (0, 0, "EUR", 0),
        (1500, 0, "JPY", 1500),
        (1, 234_000_000, "KWD", 1234),
    ],
)
def test_round_trip(units: int, nanos: int, currency: str, minor: int) -> None:
    money = common_pb2.Money(currency_code=currency, units=units, nanos=nanos)
    assert to_minor_units(money, "price") == MinorUnits(currency, minor)
    assert from_minor_units(currency, minor) == money


def test_amounts_finer_than_the_minor_unit_name_the_field() -> None:
    money = common_pb2.Money(currency_code="USD", units=1, nanos=1)
    with pytest.raises(InvalidArgumentError) as caught:
        to_minor_units(money, "product.price")
    assert [v.field for v in caught.value.violations] == ["product.price"]
