"""Values an anonymous client controls that used to overflow into a 500: forged page tokens
with numbers beyond a date or an int64, and amounts beyond what the stores hold."""

from __future__ import annotations

import base64
import json

import pytest
from shop.common.v1 import common_pb2

from mesh.errors import InvalidArgumentError
from mesh.money import MAX_MINOR_UNITS, to_minor_units
from mesh.pagination import INSTANT_AND_ID, _digest

INT64_MAX = 2**63 - 1


def forged(key: list[object], query: str = "kitchen") -> str:
    document = {"q": _digest(query), "k": key}
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "key",
    [[10**30, "p1"], [-(10**30), "p1"], [INT64_MAX, "p1"], [1e308, "p1"], [2**1000, "p1"]],
)
def test_an_overflowing_page_token_is_an_invalid_page_token(key: list[object]) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        INSTANT_AND_ID.decode(forged(key), query="kitchen")
    assert refused.value.reason == "INVALID_PAGE_TOKEN"
    assert [v.field for v in refused.value.violations] == ["page_token"]


def test_a_real_token_still_decodes() -> None:
    from datetime import UTC, datetime

    from mesh.pagination import InstantAndId

    position = InstantAndId(datetime(2026, 12, 3, tzinfo=UTC), "p1")
    token = INSTANT_AND_ID.encode(position, query="kitchen")
    assert INSTANT_AND_ID.decode(token, query="kitchen") == position


@pytest.mark.parametrize(
    ("units", "nanos"),
    [(INT64_MAX, 990_000_000), (INT64_MAX // 100 + 1, 0), (INT64_MAX // 100, 990_000_000)],
)
def test_an_amount_beyond_int64_minor_units_is_refused_on_its_field(units: int, nanos: int) -> None:
    money = common_pb2.Money(currency_code="USD", units=units, nanos=nanos)
    with pytest.raises(InvalidArgumentError) as refused:
        to_minor_units(money, "price")
    assert [v.field for v in refused.value.violations] == ["price"]


def test_the_largest_storable_amount_is_accepted() -> None:
    money = common_pb2.Money(currency_code="USD", units=INT64_MAX // 100, nanos=70_000_000)
    assert to_minor_units(money, "price").amount == MAX_MINOR_UNITS
