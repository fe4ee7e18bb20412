"""The review service on real FerretDB and Kafka, with the real catalog behind it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
import pytest
from shop.catalog.v1 import catalog_pb2_grpc
from shop.review.v1 import review_pb2, review_pb2_grpc

from mesh import rbac
from services.catalog.main import build as build_catalog
from services.review.main import build as build_review

from ..service_harness import Running, TokenKeys, read_events
from .review_harness import (
    FakeOrders,
    catalog_environ,
    fake_upstreams,
    new_product,
    review_environ,
    run_with_service_token,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keys() -> TokenKeys:
    return TokenKeys()


@dataclass
class Shop:
    catalog: catalog_pb2_grpc.CatalogServiceAsyncStub
    reviews: review_pb2_grpc.ReviewServiceAsyncStub
    review_addresses: list[str]
    orders: FakeOrders


@asynccontextmanager
async def shop(
    ferretdb_url: str, kafka: str, keys: TokenKeys, *, replicas: int = 1
) -> AsyncIterator[Shop]:
    orders = FakeOrders()
    async with (
        fake_upstreams(orders) as upstreams,
        run_with_service_token(
            "catalog", build_catalog, catalog_environ(ferretdb_url, kafka), keys
        ) as cat,
    ):
        environ = review_environ(
            ferretdb_url, kafka, catalog=cat.address, upstreams=upstreams.address
        )
        async with _replicas(environ, keys, replicas) as running:
            async with (
                grpc.aio.insecure_channel(cat.address) as cat_channel,
                grpc.aio.insecure_channel(running[0].address) as review_channel,
            ):
                yield Shop(
                    catalog_pb2_grpc.CatalogServiceStub(cat_channel),
                    review_pb2_grpc.ReviewServiceStub(review_channel),
                    [r.address for r in running],
                    orders,
                )


@asynccontextmanager
async def _replicas(
    environ: dict[str, str], keys: TokenKeys, count: int
) -> AsyncIterator[list[Running]]:
    if count == 0:
        yield []
        return
    async with run_with_service_token("review", build_review, environ, keys) as first:
        async with _replicas(environ, keys, count - 1) as others:
            yield [first, *others]


def review(product_id: str, rating: int, title: str = "Nice") -> review_pb2.CreateReviewRequest:
    return review_pb2.CreateReviewRequest(
        product_id=product_id, rating=rating, title=title, body="Works as described."
    )


async def test_reviews_summary_paging_deletion_and_events(
    ferretdb_url: str, kafka_bootstrap: str, keys: TokenKeys
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    async with shop(ferretdb_url, kafka_bootstrap, keys) as s:
        product = await s.catalog.CreateProduct(new_product("Teapot"), metadata=admin)
        s.orders.purchases.add(("alice", product.id))

        alice = await s.reviews.CreateReview(
            review(product.id, 5), metadata=keys.metadata("alice", rbac.CUSTOMER)
        )
        bob = await s.reviews.CreateReview(
            review(product.id, 2), metadata=keys.metadata("bob", rbac.CUSTOMER)
        )
        await s.reviews.CreateReview(
            review(product.id, 4), metadata=keys.metadata("carol", rbac.CUSTOMER)
        )
        assert alice.verified_purchase and not bob.verified_purchase
        assert alice.author_name == "Shopper alice"
        # HasPurchased is internal: the review service asked with its own token.
        assert set(s.orders.caller_roles) == {rbac.SERVICE}

        with pytest.raises(grpc.aio.AioRpcError) as again:
            await s.reviews.CreateReview(
                review(product.id, 1), metadata=keys.metadata("alice", rbac.CUSTOMER)
            )
        assert again.value.code() is grpc.StatusCode.ALREADY_EXISTS
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await s.reviews.CreateReview(
                review("no-such-product", 3), metadata=keys.metadata("dave", rbac.CUSTOMER)
            )
        assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await s.reviews.CreateReview(review(product.id, 3))
        assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await s.reviews.CreateReview(
                review(product.id, 6), metadata=keys.metadata("erin", rbac.CUSTOMER)
            )
        assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT

        summary = await s.reviews.GetRatingSummary(
            review_pb2.GetRatingSummaryRequest(product_id=product.id)
        )
        assert (summary.count, list(summary.histogram)) == (3, [0, 1, 0, 1, 1])
        assert summary.average == pytest.approx(11 / 3)

        best_first = await s.reviews.ListReviews(
            review_pb2.ListReviewsRequest(
                product_id=product.id,
                page_size=2,
                order_by=review_pb2.REVIEW_ORDER_HIGHEST_RATING,
            )
        )
        assert [r.rating for r in best_first.reviews] == [5, 4]
        assert best_first.total_size == 3 and best_first.next_page_token
        rest = await s.reviews.ListReviews(
            review_pb2.ListReviewsRequest(
                product_id=product.id,
                page_size=2,
                order_by=review_pb2.REVIEW_ORDER_HIGHEST_RATING,
                page_token=best_first.next_page_token,
            )
        )
        assert [r.rating for r in rest.reviews] == [2] and not rest.next_page_token
        newest = await s.reviews.ListReviews(review_pb2.ListReviewsRequest(product_id=product.id))
        assert [r.user_id for r in newest.reviews] == ["carol", "bob", "alice"]

        with pytest.raises(grpc.aio.AioRpcError) as stranger:
            await s.reviews.DeleteReview(
                review_pb2.DeleteReviewRequest(id=bob.id),
                metadata=keys.metadata("carol", rbac.CUSTOMER),
            )
        assert stranger.value.code() is grpc.StatusCode.PERMISSION_DENIED
        await s.reviews.DeleteReview(
            review_pb2.DeleteReviewRequest(id=bob.id), metadata=keys.metadata("bob", rbac.CUSTOMER)
        )
        await s.reviews.DeleteReview(review_pb2.DeleteReviewRequest(id=alice.id), metadata=admin)
        summary = await s.reviews.GetRatingSummary(
            review_pb2.GetRatingSummaryRequest(product_id=product.id)
        )
        assert (summary.count, summary.average, list(summary.histogram)) == (
            1,
            4.0,
            [0, 0, 0, 1, 0],
        )
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await s.reviews.DeleteReview(review_pb2.DeleteReviewRequest(id=bob.id), metadata=admin)
        assert gone.value.code() is grpc.StatusCode.NOT_FOUND

        events = await read_events(
            kafka_bootstrap, "shop.review.events", product.id, lambda seen: len(seen) >= 5
        )
        assert [(e.event_type.rsplit(".", 1)[1], e.aggregate_version) for e in events] == [
            ("ReviewCreated", 1),
            ("ReviewCreated", 2),
            ("ReviewCreated", 3),
            ("ReviewDeleted", 4),
            ("ReviewDeleted", 5),
        ]
        counts = [getattr(e, str(e.WhichOneof("payload"))).rating_summary.count for e in events]
        assert counts == [1, 2, 3, 2, 1]
        assert events[4].review_deleted.review.id == alice.id


async def test_concurrent_reviews_on_two_replicas_keep_the_summary_exact(
    ferretdb_url: str, kafka_bootstrap: str, keys: TokenKeys
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    async with shop(ferretdb_url, kafka_bootstrap, keys, replicas=2) as s:
        product = await s.catalog.CreateProduct(new_product("Kettle"), metadata=admin)
        async with (
            grpc.aio.insecure_channel(s.review_addresses[0]) as a,
            grpc.aio.insecure_channel(s.review_addresses[1]) as b,
        ):
            stubs = [review_pb2_grpc.ReviewServiceStub(a), review_pb2_grpc.ReviewServiceStub(b)]

            async def post(i: int) -> review_pb2.Review:
                stub = stubs[i % 2]
                return await stub.CreateReview(
                    review(product.id, i % 5 + 1), metadata=keys.metadata(f"u{i}", rbac.CUSTOMER)
                )

            posted = await asyncio.gather(*(post(i) for i in range(30)))
            # Half of them deleted concurrently, again through both replicas.
            await asyncio.gather(
                *(
                    stubs[i % 2].DeleteReview(
                        review_pb2.DeleteReviewRequest(id=r.id),
                        metadata=keys.metadata(r.user_id, rbac.CUSTOMER),
                    )
                    for i, r in enumerate(posted)
                    if i % 2 == 0
                )
            )
            summary = await stubs[1].GetRatingSummary(
                review_pb2.GetRatingSummaryRequest(product_id=product.id)
            )
        kept = [r.rating for i, r in enumerate(posted) if i % 2]
        assert summary.count == len(kept) == 15
        assert list(summary.histogram) == [kept.count(stars) for stars in range(1, 6)]
        events = await read_events(
            kafka_bootstrap,
            "shop.review.events",
            product.id,
            lambda seen: len({e.event_id for e in seen}) >= 45,
        )
        # Both replicas' relays may publish a change (at least once): same event id, and
        # one event per version of the product's ledger.
        by_version = {e.aggregate_version: e.event_id for e in events}
        assert sorted(by_version) == list(range(1, 46))
        assert len(set(by_version.values())) == len({e.event_id for e in events}) == 45
