"""The version rules of the index documents: any order of events gives the newest state."""

import itertools
from dataclasses import replace
from datetime import UTC, datetime

from services.search.domain.documents import (
    Change,
    ProductFacts,
    RatingFacts,
    Source,
    product_gone,
    product_seen,
    rating_seen,
    stock_seen,
    suggest_inputs,
)


def facts(version: int, name: str = "Mug", inventory: int = 5) -> ProductFacts:
    return ProductFacts(
        id="p1",
        name=name,
        description="",
        category="kitchen",
        image_url="",
        price_minor=1299,
        currency="USD",
        price=12.99,
        inventory=inventory,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        version=version,
    )


def run(changes: list[Change]) -> Source | None:
    doc: Source | None = None
    for change in changes:
        doc = change(doc) or doc
    return doc


def test_a_stale_update_changes_nothing() -> None:
    newest = product_seen(facts(2, "New"))(product_seen(facts(1, "Old"))(None))
    assert newest is not None and newest["name"] == "New"
    assert product_seen(facts(1, "Old"))(newest) is None
    assert product_seen(facts(2, "New"))(newest) is None  # a replay of the same one


def test_every_order_of_the_same_events_ends_in_the_same_document() -> None:
    events = [
        product_seen(facts(1, "Old", inventory=5)),
        stock_seen("p1", 4, 2),
        product_seen(facts(3, "New", inventory=4)),
        stock_seen("p1", 9, 4),
        rating_seen(RatingFacts("p1", 4.0, 1, 1)),
        rating_seen(RatingFacts("p1", 4.5, 2, 2)),
    ]
    outcomes = set()
    for order in itertools.permutations(events):
        doc = run(list(order))
        assert doc is not None
        outcomes.add(
            (doc["name"], doc["inventory"], doc["in_stock"], doc["rating_average"], doc["listed"])
        )
    assert outcomes == {("New", 9, True, 4.5, True)}


def test_a_deleted_product_stays_deleted() -> None:
    doc = run([product_seen(facts(1)), product_gone("p1", 2), product_seen(facts(5, "Back"))])
    assert doc is not None and doc["deleted"] and not doc["listed"] and doc["suggest"] == []
    assert stock_seen("p1", 3, 9)(doc) is None
    assert product_gone("p1", 2)(doc) is None
    # A deletion seen before the product itself still wins.
    early = run([product_gone("p1", 2), product_seen(facts(1))])
    assert early is not None and not early["listed"]


def test_ratings_before_the_product_wait_unlisted() -> None:
    doc = run([rating_seen(RatingFacts("p1", 5.0, 1, 1))])
    assert doc is not None and not doc["listed"] and doc["rating_average"] == 5.0
    doc = run([rating_seen(RatingFacts("p1", 5.0, 1, 1)), product_seen(facts(1))])
    assert doc is not None and doc["listed"] and doc["rating_count"] == 1


def test_suggest_inputs_are_the_name_and_its_tails() -> None:
    assert suggest_inputs("Blue  Ceramic Mug") == ["Blue Ceramic Mug", "Ceramic Mug", "Mug"]
    assert suggest_inputs("") == []


def test_the_catalogs_rating_counts_only_until_a_review_event_is_seen() -> None:
    def with_rating(version: int, average: float) -> ProductFacts:
        return replace(facts(version), rating_average=average, rating_count=1)

    doc = run([product_seen(with_rating(1, 3.0))])
    assert doc is not None and doc["rating_average"] == 3.0
    doc = run([product_seen(with_rating(1, 3.0)), rating_seen(RatingFacts("p1", 5.0, 2, 1))])
    doc = product_seen(with_rating(2, 3.0))(doc)
    assert doc is not None and (doc["rating_average"], doc["rating_count"]) == (5.0, 2)
