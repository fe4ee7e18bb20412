"""Found by schemathesis: `?orderBy=²` (a Unicode digit) was a 500; it is a bad request."""

from __future__ import annotations

import pytest
from google.protobuf import message_factory

from gateway.bootstrap import discover_services
from gateway.transcoding.request import RequestError, build_request
from gateway.transcoding.routes import routes_from_services


def _list_reviews(value: str) -> object:
    route = next(
        r for r in routes_from_services(discover_services()) if r.method.name == "ListReviews"
    )
    message = message_factory.GetMessageClass(route.method.input_type)()
    return build_request(
        message,
        body_rule="",
        body=None,
        path_values={"product_id": "p1"},
        query=[("orderBy", value)],
    )


@pytest.mark.parametrize("value", ["²", "-²", "1²"])
def test_an_enum_given_as_a_non_ascii_digit_is_a_bad_request(value: str) -> None:
    with pytest.raises(RequestError):
        _list_reviews(value)


def test_an_enum_given_as_its_number_still_works() -> None:
    assert "REVIEW_ORDER_NEWEST" in str(_list_reviews("1"))
