"""Which document change each event makes."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, AsyncElasticsearch, ConnectionError
from google.protobuf import message
from shop.catalog.v1 import catalog_pb2
from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.review.v1 import review_pb2

from mesh.events import Event, new_event
from services.search.adapters.events import IndexEvents, change_for
from services.search.adapters.index import ProductIndex
from services.search.domain.documents import Change, Source
from services.search.service_layer.indexing import IndexUpdater
from services.search.service_layer.ports import IndexUnavailable


def product(version: int, name: str = "Mug") -> catalog_pb2.Product:
    p = catalog_pb2.Product(
        id="p1",
        name=name,
        price=common_pb2.Money(currency_code="USD", units=12, nanos=990_000_000),
        category="kitchen",
        inventory=3,
        version=version,
    )
    p.create_time.FromDatetime(datetime(2026, 1, 1, tzinfo=UTC))
    return p


def event(payload: message.Message, aggregate: str, version: int) -> Event:
    return new_event(
        payload,
        aggregate_type=aggregate,
        aggregate_id="p1",
        aggregate_version=version,
        producer="test",
    )


class MemoryIndex:
    def __init__(self) -> None:
        self.docs: dict[str, Source] = {}
        self.writes: list[str] = []

    async def apply(self, product_id: str, change: Change) -> None:
        updated = change(self.docs.get(product_id))
        if updated is not None:
            self.docs[product_id] = updated
            self.writes.append(product_id)

    async def apply_many(self, changes: Sequence[tuple[str, Change]]) -> None:
        for product_id, change in changes:
            await self.apply(product_id, change)


async def test_catalog_and_review_events_feed_one_document() -> None:
    index = MemoryIndex()
    updater = IndexEvents(IndexUpdater(index))
    summary = review_pb2.RatingSummary(product_id="p1", average=4.0, count=1)
    for e in [
        event(events_pb2.ProductCreated(product=product(1)), "product", 1),
        event(events_pb2.StockChanged(product_id="p1", inventory=0, version=2), "product", 2),
        event(
            events_pb2.ReviewCreated(
                review=review_pb2.Review(product_id="p1"), rating_summary=summary
            ),
            "review",
            1,
        ),
        event(events_pb2.ProductUpdated(product=product(1, "Stale")), "product", 1),
    ]:
        await updater.handle(e)
    doc = index.docs["p1"]
    assert (doc["name"], doc["price"], doc["price_minor"], doc["inventory"]) == (
        "Mug",
        12.99,
        1299,
        0,
    )
    assert (doc["rating_average"], doc["rating_count"], doc["in_stock"]) == (4.0, 1, False)

    await updater.handle(event(events_pb2.ProductDeleted(product_id="p1", version=3), "product", 3))
    assert index.docs["p1"]["deleted"]


def stream() -> list[Event]:
    """A product's life in events, with a stale update and a replay in between."""
    created = event(events_pb2.ProductCreated(product=product(1)), "product", 1)
    return [
        created,
        event(events_pb2.StockChanged(product_id="p1", inventory=2, version=2), "product", 2),
        event(events_pb2.ProductUpdated(product=product(1, "Stale")), "product", 1),
        event(events_pb2.ProductUpdated(product=product(3, "Big Mug")), "product", 3),
        created,
        event(events_pb2.StockChanged(product_id="p1", inventory=0, version=4), "product", 4),
        event(events_pb2.StockChanged(product_id="p1", inventory=7, version=3), "product", 3),
    ]


async def test_a_batch_makes_the_same_document_as_its_events_one_by_one_in_one_write() -> None:
    one_by_one = MemoryIndex()
    for e in stream():
        await IndexEvents(IndexUpdater(one_by_one)).handle(e)
    batched = MemoryIndex()
    other = event(events_pb2.StockChanged(product_id="p2", inventory=5, version=1), "product", 1)
    other.aggregate_id = "p2"
    await IndexEvents(IndexUpdater(batched)).handle_batch([*stream(), other])

    assert batched.docs["p1"] == one_by_one.docs["p1"]
    assert (batched.docs["p1"]["name"], batched.docs["p1"]["inventory"]) == ("Big Mug", 0)
    assert batched.writes == ["p1", "p2"]  # one write per product
    assert len(one_by_one.writes) == 4  # stale, replayed and older events wrote nothing


async def test_a_batch_that_changes_nothing_writes_nothing() -> None:
    index = MemoryIndex()
    updater = IndexEvents(IndexUpdater(index))
    await updater.handle_batch(stream())
    index.writes.clear()
    await updater.handle_batch(stream())  # all of it again, as after a redelivery
    assert index.writes == []


def test_other_events_are_ignored() -> None:
    assert change_for(event(events_pb2.UserRegistered(user_id="u"), "user", 1)) is None


async def test_an_unreachable_index_is_waited_for_not_dead_lettered() -> None:
    class FlakyIndex(MemoryIndex):
        failures = 2

        async def apply(self, product_id: str, change: Change) -> None:
            if self.failures:
                self.failures -= 1
                raise IndexUnavailable("connection refused")
            await super().apply(product_id, change)

    index = FlakyIndex()
    await IndexEvents(IndexUpdater(index, max_backoff_seconds=0.01)).handle(
        event(events_pb2.ProductCreated(product=product(1)), "product", 1)
    )
    assert index.docs["p1"]["name"] == "Mug"


class UnreachableIndices:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def get_alias(self, **_: object) -> None:
        raise self.error


class UnreachableElasticsearch:
    def __init__(self, error: Exception) -> None:
        self.indices = UnreachableIndices(error)


def api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.01, NodeConfig("http", "es", 9200))
    return ApiError("refused", meta, {"error": {"type": "x"}})


@pytest.mark.parametrize(
    "error", [ConnectionError("connection refused"), api_error(503), api_error(429)]
)
async def test_the_index_reports_a_busy_or_absent_elasticsearch_as_unavailable(
    error: Exception,
) -> None:
    es = cast(AsyncElasticsearch, UnreachableElasticsearch(error))
    with pytest.raises(IndexUnavailable):
        await ProductIndex(es, "products").apply("p1", lambda doc: doc)


async def test_a_request_elasticsearch_rejects_is_not_retried() -> None:
    es = cast(AsyncElasticsearch, UnreachableElasticsearch(api_error(400)))
    with pytest.raises(ApiError):
        await ProductIndex(es, "products").apply("p1", lambda doc: doc)
