"""Search kept in sync with the catalog and reviews through Kafka (real FerretDB, Kafka, ES)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import grpc
import pytest
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from google.protobuf import field_mask_pb2
from shop.catalog.v1 import catalog_pb2
from shop.review.v1 import review_pb2, review_pb2_grpc
from shop.search.v1 import search_pb2

from mesh import rbac
from mesh.events import Event
from services.review.main import build as build_review

from ..review.review_harness import (
    FakeOrders,
    fake_upstreams,
    new_product,
    review_environ,
    run_with_service_token,
)
from ..service_harness import TokenKeys, eventually, read_events
from .search_harness import query, search_shop

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keys() -> TokenKeys:
    return TokenKeys()


def ids(response: search_pb2.SearchResponse) -> list[str]:
    return [hit.id for hit in response.products]


async def replay(kafka: str, group: str, events: Sequence[Event]) -> None:
    """Publishes `events` again and waits until the search consumer group has handled them."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        sent = [
            await producer.send_and_wait(
                "shop.product.events",
                event.SerializeToString(),
                key=event.aggregate_id.encode(),
            )
            for event in events
        ]
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:

        async def committed() -> dict[tuple[str, int], int]:
            offsets = await admin.list_consumer_group_offsets(group)
            return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}

        await eventually(
            committed,
            lambda done: all(done.get((m.topic, m.partition), -1) > m.offset for m in sent),
        )
    finally:
        await admin.close()


async def test_a_renamed_product_is_found_by_its_new_name_and_a_replayed_old_update_changes_nothing(
    ferretdb_url: str, kafka_bootstrap: str, elasticsearch_url: str, keys: TokenKeys
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    async with search_shop(ferretdb_url, kafka_bootstrap, elasticsearch_url, keys) as s:
        product = await s.catalog.CreateProduct(
            new_product("Espresso Machine", description="Makes strong coffee"), metadata=admin
        )
        await eventually(lambda: s.search.Search(query("espresso")), lambda r: product.id in ids(r))
        renamed = catalog_pb2.Product(id=product.id, name="Barista Pro Grinder")
        await s.catalog.UpdateProduct(
            catalog_pb2.UpdateProductRequest(
                product=renamed, update_mask=field_mask_pb2.FieldMask(paths=["name"])
            ),
            metadata=admin,
        )
        renamed_at = time.monotonic()
        found = await eventually(
            lambda: s.search.Search(query("barista grinder")), lambda r: product.id in ids(r)
        )
        assert time.monotonic() - renamed_at < 5.0
        assert found.products[0].name == "Barista Pro Grinder"

        # Both old events come again: once as they were, once as if produced anew.
        events = await read_events(
            kafka_bootstrap, "shop.product.events", product.id, lambda seen: len(seen) >= 2
        )
        old_update = next(e for e in events if e.HasField("product_updated"))
        assert old_update.product_updated.product.name == "Barista Pro Grinder"
        stale = Event()
        stale.CopyFrom(old_update)
        stale.event_id = "replayed-" + stale.event_id
        stale.aggregate_version = 1
        stale.product_updated.product.version = 1
        stale.product_updated.product.name = "Stale Name"
        await replay(kafka_bootstrap, s.environ["SEARCH_CONSUMER_GROUP"], [*events, stale])

        await s.index.refresh(s.environ["SEARCH_INDEX_ALIAS"])
        after = await s.search.Search(query("barista grinder"))
        assert [(h.id, h.name) for h in after.products] == [(product.id, "Barista Pro Grinder")]
        assert ids(await s.search.Search(query("stale name"))) == []


async def test_a_review_changes_the_rating_summary_and_the_rating_in_search(
    ferretdb_url: str, kafka_bootstrap: str, elasticsearch_url: str, keys: TokenKeys
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    async with (
        search_shop(ferretdb_url, kafka_bootstrap, elasticsearch_url, keys) as s,
        fake_upstreams(FakeOrders()) as upstreams,
    ):
        environ = review_environ(
            ferretdb_url, kafka_bootstrap, catalog=s.catalog_address, upstreams=upstreams.address
        )
        async with (
            run_with_service_token("review", build_review, environ, keys) as review_service,
            grpc.aio.insecure_channel(review_service.address) as channel,
        ):
            reviews = review_pb2_grpc.ReviewServiceStub(channel)
            product = await s.catalog.CreateProduct(new_product("Garden Hose"), metadata=admin)
            await eventually(
                lambda: s.search.Search(query("hose")), lambda r: ids(r) == [product.id]
            )

            posted = []
            for user, stars in [("ann", 5), ("ben", 3)]:
                posted.append(
                    await reviews.CreateReview(
                        review_pb2.CreateReviewRequest(
                            product_id=product.id, rating=stars, title="ok"
                        ),
                        metadata=keys.metadata(user, rbac.CUSTOMER),
                    )
                )
            summary = await reviews.GetRatingSummary(
                review_pb2.GetRatingSummaryRequest(product_id=product.id)
            )
            assert (summary.count, summary.average) == (2, 4.0)
            hit = await eventually(
                lambda: s.search.Search(query("hose")),
                lambda r: bool(r.products) and r.products[0].rating_count == 2,
            )
            assert hit.products[0].rating_average == 4.0
            assert ids(await s.search.Search(query("hose", min_rating=4.0))) == [product.id]
            assert ids(await s.search.Search(query("hose", min_rating=4.5))) == []

            await reviews.DeleteReview(
                review_pb2.DeleteReviewRequest(id=posted[1].id),
                metadata=keys.metadata("ben", rbac.CUSTOMER),
            )
            await eventually(
                lambda: s.search.Search(query("hose", min_rating=4.5)),
                lambda r: ids(r) == [product.id] and r.products[0].rating_average == 5.0,
            )
            # A product change later keeps the rating (the streams are versioned apart).
            await s.catalog.UpdateProduct(
                catalog_pb2.UpdateProductRequest(
                    product=catalog_pb2.Product(id=product.id, name="Garden Hose 30m"),
                    update_mask=field_mask_pb2.FieldMask(paths=["name"]),
                ),
                metadata=admin,
            )
            renamed = await eventually(
                lambda: s.search.Search(query("hose")),
                lambda r: bool(r.products) and r.products[0].name == "Garden Hose 30m",
            )
            assert (renamed.products[0].rating_average, renamed.products[0].rating_count) == (
                5.0,
                1,
            )


async def test_a_deleted_product_leaves_search_and_stale_events_do_not_bring_it_back(
    ferretdb_url: str, kafka_bootstrap: str, elasticsearch_url: str, keys: TokenKeys
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    async with search_shop(ferretdb_url, kafka_bootstrap, elasticsearch_url, keys) as s:
        product = await s.catalog.CreateProduct(new_product("Rubber Duck"), metadata=admin)
        await eventually(lambda: s.search.Search(query("duck")), lambda r: ids(r) == [product.id])
        await s.catalog.DeleteProduct(
            catalog_pb2.DeleteProductRequest(id=product.id), metadata=admin
        )
        await eventually(lambda: s.search.Search(query("duck")), lambda r: ids(r) == [])
        events = await read_events(
            kafka_bootstrap, "shop.product.events", product.id, lambda seen: len(seen) >= 2
        )
        created = [e for e in events if e.HasField("product_created")]
        await replay(kafka_bootstrap, s.environ["SEARCH_CONSUMER_GROUP"], created)
        await s.index.refresh(s.environ["SEARCH_INDEX_ALIAS"])
        assert ids(await s.search.Search(query("duck"))) == []
        suggestions = await s.search.Suggest(search_pb2.SuggestRequest(prefix="rubber"))
        assert list(suggestions.suggestions) == []
