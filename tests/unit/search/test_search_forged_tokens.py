"""A page token's digest is not secret: a forged token for the right search must still carry
sort values of the sort's shape, or it is INVALID_ARGUMENT on page_token (it used to reach
Elasticsearch and come back as a 500)."""

from __future__ import annotations

import pytest

from mesh.errors import InvalidArgumentError
from mesh.pagination import Scalar
from services.search.domain.query import SEARCH_AFTER, SearchParams, SortOrder, search_body


def token_for(params: SearchParams, values: list[Scalar]) -> SearchParams:
    forged = SEARCH_AFTER.encode(values, query=params.fingerprint())
    return SearchParams(
        text=params.text, order=params.order, page_size=params.page_size, page_token=forged
    )


@pytest.mark.parametrize(
    ("order", "values"),
    [
        (SortOrder.PRICE_ASC, ["cheap", "p1"]),  # a word where the price goes
        (SortOrder.PRICE_ASC, [12.5]),  # too few values
        (SortOrder.PRICE_ASC, [12.5, "p1", "extra"]),  # too many
        (SortOrder.PRICE_ASC, [12.5, 7]),  # a number where the id goes
        (SortOrder.PRICE_ASC, [True, "p1"]),
        (SortOrder.NEWEST, [2**64, "p1"]),  # beyond a long
        (SortOrder.NEWEST, [1.5e300, "p1"]),  # a double for epoch millis
        (SortOrder.RATING, [4.5, 2**70, "p1"]),
        (SortOrder.RELEVANCE, [float("nan"), "p1"]),
    ],
)
def test_forged_sort_values_are_an_invalid_page_token(
    order: SortOrder, values: list[Scalar]
) -> None:
    params = token_for(SearchParams(text="mug", order=order, page_size=10), values)
    with pytest.raises(InvalidArgumentError) as refused:
        search_body(params)
    assert [v.field for v in refused.value.violations] == ["page_token"]


@pytest.mark.parametrize(
    ("order", "values"),
    [
        (SortOrder.PRICE_ASC, [12.5, "p1"]),
        (SortOrder.PRICE_DESC, [12, "p1"]),
        (SortOrder.NEWEST, [1_764_720_000_000, "p1"]),
        (SortOrder.RATING, [float("-inf"), 0, "p1"]),
        (SortOrder.RELEVANCE, [3.25, "p1"]),
    ],
)
def test_tokens_of_the_sorts_shape_are_accepted(order: SortOrder, values: list[Scalar]) -> None:
    params = token_for(SearchParams(text="mug", order=order, page_size=10), values)
    assert search_body(params)["search_after"] == values
