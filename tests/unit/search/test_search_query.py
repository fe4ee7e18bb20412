"""Query bodies, page tokens and results, without Elasticsearch."""

from typing import Any

import pytest

from mesh.errors import InvalidArgumentError
from services.search.domain.query import (
    MAX_QUERY_WORDS,
    SEARCH_AFTER,
    SearchParams,
    SortOrder,
    normalized_text,
    results_of,
    search_body,
    suggestions_of,
)


def test_text_reaches_elasticsearch_only_as_analyzed_text() -> None:
    body = search_body(SearchParams(text='"odd ~ / \\ ( query'))
    [clause] = body["query"]["bool"]["must"]
    assert set(clause) == {"multi_match"}
    assert clause["multi_match"]["fuzziness"] == "AUTO"
    assert "query_string" not in str(body)


def test_huge_text_is_bounded() -> None:
    text = normalized_text("word " * 300 + "x" * 400)
    assert len(text.split()) == MAX_QUERY_WORDS and len(text) < 1000
    assert normalized_text(" \t\n ") == ""


def test_no_text_matches_everything_listed_with_filters() -> None:
    params = SearchParams(
        category="kitchen", min_price=5, max_price=10, min_rating=4, in_stock=True
    )
    body = search_body(params)
    assert body["query"]["bool"]["must"] == [{"match_all": {}}]
    assert body["query"]["bool"]["filter"] == [
        {"term": {"listed": True}},
        {"term": {"category": "kitchen"}},
        {"range": {"price": {"gte": 5, "lte": 10}}},
        {"range": {"rating_average": {"gte": 4}}},
        {"term": {"in_stock": True}},
    ]
    assert "highlight" not in body


def response(*sorts: list[Any]) -> dict[str, Any]:
    return {
        "hits": {
            "total": {"value": len(sorts)},
            "hits": [
                {"_source": {"id": f"p{i}"}, "_score": 1.0, "sort": sort}
                for i, sort in enumerate(sorts)
            ],
        },
        "aggregations": {
            "categories": {"buckets": [{"key": "kitchen", "doc_count": 2}]},
            "prices": {
                "buckets": [
                    {"from": 0.0, "to": 25.0, "doc_count": 2},
                    {"from": 500.0, "doc_count": 0},
                ]
            },
        },
    }


def test_pages_continue_after_the_last_hit_of_the_same_search() -> None:
    params = SearchParams(text="mug", order=SortOrder.PRICE_ASC, page_size=1)
    first = results_of(params, response([1.0, "p0"], [2.0, "p1"]))
    assert [h.source["id"] for h in first.hits] == ["p0"] and first.next_page_token
    assert [(b.label, b.count) for b in first.price_buckets] == [("0-25", 2), ("500+", 0)]
    follow = SearchParams(
        text="mug", order=SortOrder.PRICE_ASC, page_size=1, page_token=first.next_page_token
    )
    assert search_body(follow)["search_after"] == [1.0, "p0"]
    last = results_of(params, response([1.0, "p0"]))
    assert last.next_page_token == ""


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        "e30=",  # {}
        SEARCH_AFTER.encode([1], query="0" * 16),  # another search
        SEARCH_AFTER.encode([], query=SearchParams().fingerprint()),
        SEARCH_AFTER.encode([{"x": 1}], query=SearchParams().fingerprint()),  # type: ignore[list-item]
    ],
)
def test_foreign_or_forged_tokens_are_invalid_arguments(token: str) -> None:
    with pytest.raises(InvalidArgumentError):
        search_body(SearchParams(page_token=token))


def test_suggestions_are_distinct_products() -> None:
    def option(pid: str) -> dict[str, Any]:
        return {"_source": {"id": pid, "name": pid.upper()}}

    found = {"suggest": {"products": [{"options": [option("a"), option("a"), option("b")]}]}}
    assert [s["id"] for s in suggestions_of(found, 5)] == ["a", "b"]
    assert [s["id"] for s in suggestions_of(found, 1)] == ["a"]


def test_suggest_prefix_drops_control_characters() -> None:
    from services.search.domain.query import suggest_body, typed_prefix

    assert typed_prefix("\x13x\u00dfk\x1e\x1f\x00V\x7f") == "x\u00dfkV"
    assert suggest_body("hea\x1edph", 5)["suggest"]["products"]["prefix"] == "headph"
