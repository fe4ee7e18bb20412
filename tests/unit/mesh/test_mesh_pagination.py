"""Page tokens: round trips, and a clear INVALID_ARGUMENT for anything we did not issue."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mesh.errors import InvalidArgumentError
from mesh.pagination import (
    INSTANT_AND_ID,
    InstantAndId,
    PageTokenCodec,
    Scalar,
    from_micros,
    to_micros,
)

AT = datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)


def test_instant_and_id_round_trip_keeps_microseconds() -> None:
    position = InstantAndId(AT, "order-7")
    token = INSTANT_AND_ID.encode(position, query="user-1")
    assert INSTANT_AND_ID.decode(token, query="user-1") == position
    assert "=" not in token and "+" not in token and "/" not in token


def test_no_position_is_no_token_and_no_token_is_the_first_page() -> None:
    assert INSTANT_AND_ID.encode(None) == ""
    assert INSTANT_AND_ID.decode("") is None


def test_a_padded_token_is_accepted_too() -> None:
    token = INSTANT_AND_ID.encode(InstantAndId(AT, "x"))
    assert INSTANT_AND_ID.decode(token + "=" * (-len(token) % 4)) == InstantAndId(AT, "x")


def test_times_in_other_zones_compare_as_the_same_instant() -> None:
    local = AT.astimezone(timezone(timedelta(hours=-5)))
    assert from_micros(to_micros(local)) == AT
    with pytest.raises(ValueError):
        to_micros(datetime(2026, 1, 1))


def violation(error: pytest.ExceptionInfo[InvalidArgumentError]) -> tuple[str, str]:
    [found] = error.value.violations
    return found.field, found.description


def test_a_token_for_another_query_is_rejected_and_says_so() -> None:
    token = INSTANT_AND_ID.encode(InstantAndId(AT, "a"), query="category=mugs")
    with pytest.raises(InvalidArgumentError) as error:
        INSTANT_AND_ID.decode(token, query="category=books")
    field, description = violation(error)
    assert field == "page_token" and "another query" in description
    assert error.value.reason == "INVALID_PAGE_TOKEN"


def forged(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        "bm90IGEgdG9rZW4=",  # "not a token"
        forged({}),
        forged([1, 2]),
        forged({"q": INSTANT_AND_ID.encode(None), "k": []}),
        forged({"k": [1, "a"]}),
        INSTANT_AND_ID.encode(InstantAndId(AT, "a"))[:-3],
    ],
)
def test_tokens_we_did_not_issue_are_invalid_arguments(token: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        INSTANT_AND_ID.decode(token)
    field, description = violation(error)
    assert field == "page_token" and "not a token issued" in description


def test_a_well_formed_key_the_loader_rejects_is_invalid() -> None:
    good = json.loads(base64.urlsafe_b64decode(INSTANT_AND_ID.encode(InstantAndId(AT, "a")) + "=="))
    for key in ([good["k"][0], ""], ["soon", "a"], [True, "a"], [1], [{"x": 1}, "a"]):
        with pytest.raises(InvalidArgumentError):
            INSTANT_AND_ID.decode(forged({"q": good["q"], "k": key}))


@dataclass(frozen=True)
class PriceThenId:
    price: float
    product_id: str


def test_a_codec_for_any_position_type_and_field_name() -> None:
    def load(key: Sequence[Scalar]) -> PriceThenId:
        price, product_id = key
        if not isinstance(price, int | float) or not isinstance(product_id, str):
            raise TypeError("bad key")
        return PriceThenId(float(price), product_id)

    codec = PageTokenCodec(lambda p: (p.price, p.product_id), load, field="cursor")
    token = codec.encode(PriceThenId(9.5, "p1"), query="mug")
    assert codec.decode(token, query="mug") == PriceThenId(9.5, "p1")
    with pytest.raises(InvalidArgumentError) as error:
        codec.decode(token, query="cup")
    assert violation(error)[0] == "cursor"
