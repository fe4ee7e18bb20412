import itertools
from datetime import UTC, datetime, timedelta

import pytest
from shop.events.v1 import events_pb2

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from mesh.events import Event
from services.review.adapters.events import event_for
from services.review.domain.model import ChangeKind, RatingSummary, ReviewOrder
from services.review.service_layer.reviews import ReviewDraft, ReviewService

from .review_fakes import FakeProducts, FakeProfiles, FakePurchases, FakeReviewStore

START = datetime(2026, 1, 1, tzinfo=UTC)
STAFF = Identity.from_claims("admin-1", frozenset({"admin"}), "token")


def user(subject: str) -> Identity:
    return Identity.from_claims(subject, frozenset({rbac.CUSTOMER}), "token")


def make_service(
    store: FakeReviewStore | None = None,
) -> tuple[ReviewService, FakeReviewStore]:
    store = store or FakeReviewStore(lambda change: event_for(change).SerializeToString())
    ticks = itertools.count()
    ids = itertools.count(1)
    service = ReviewService(
        store,
        FakeProducts("p1", "p2"),
        FakePurchases(("buyer", "p1")),
        FakeProfiles(),
        clock=lambda: START + timedelta(milliseconds=next(ticks)),
        ids=lambda: f"r{next(ids):03d}",
    )
    return service, store


def draft(rating: int, product_id: str = "p1") -> ReviewDraft:
    return ReviewDraft(product_id, rating, "title", "body")


async def test_a_review_is_counted_in_the_summary_and_flagged_verified_for_buyers() -> None:
    service, _ = make_service()
    bought = await service.create_review(user("buyer"), draft(5))
    other = await service.create_review(user("someone"), draft(2))
    assert bought.verified_purchase and not other.verified_purchase
    assert bought.author_name == "User buyer"
    summary = await service.rating_summary("p1")
    assert (summary.count, summary.average, summary.histogram) == (2, 3.5, (0, 1, 0, 0, 1))


async def test_one_review_per_author_and_product() -> None:
    service, _ = make_service()
    await service.create_review(user("u1"), draft(4))
    with pytest.raises(AlreadyExistsError):
        await service.create_review(user("u1"), draft(1))
    await service.create_review(user("u1"), draft(1, product_id="p2"))


async def test_unknown_products_cannot_be_reviewed() -> None:
    service, _ = make_service()
    with pytest.raises(NotFoundError):
        await service.create_review(user("u1"), draft(4, product_id="nope"))


async def test_deleting_uncounts_and_may_be_repeated() -> None:
    service, store = make_service()
    review = await service.create_review(user("u1"), draft(4))
    await service.create_review(user("u2"), draft(2))
    with pytest.raises(PermissionDeniedError) as denied:
        await service.delete_review(user("u2"), review.id)
    assert denied.value.reason == "NOT_OWNER"
    await service.delete_review(user("u1"), review.id)
    with pytest.raises(NotFoundError):
        await service.delete_review(STAFF, review.id)
    # A call that died after uncounting but before removing the review is retried.
    store.reviews[review.id] = review
    await service.delete_review(STAFF, review.id)  # a retried call changes nothing more
    summary = await service.rating_summary("p1")
    assert (summary.count, summary.histogram) == (1, (0, 1, 0, 0, 0))
    assert [c.version for c in store.changes.values()] == [1, 2, 3]
    # The author may review again after deleting.
    await service.create_review(user("u1"), draft(3))


async def test_repair_counts_reviews_a_crashed_writer_left_uncounted() -> None:
    service, store = make_service()
    review = await service.create_review(user("u1"), draft(4))
    store.changes.clear()
    store.recorded.clear()
    assert await service.repair(timedelta(0)) == 1
    assert (await service.rating_summary("p1")).count == 1
    assert await service.repair(timedelta(0)) == 0
    await service.delete_review(user("u1"), review.id)
    assert (await service.rating_summary("p1")).count == 0


async def test_pages_newest_first_and_highest_rated_first() -> None:
    service, _ = make_service()
    for author, rating in [("a", 3), ("b", 5), ("c", 1), ("d", 5), ("e", 4)]:
        await service.create_review(user(author), draft(rating))

    async def all_pages(order: ReviewOrder) -> list[str]:
        seen: list[str] = []
        token = ""
        while True:
            page = await service.list_reviews("p1", order, 2, token)
            assert page.total_size == 5
            seen += [r.user_id for r in page.reviews]
            if not (token := page.next_page_token):
                return seen

    assert await all_pages(ReviewOrder.NEWEST) == ["e", "d", "c", "b", "a"]
    assert await all_pages(ReviewOrder.HIGHEST_RATING) == ["d", "b", "e", "a", "c"]


async def test_page_tokens_are_checked() -> None:
    service, _ = make_service()
    for author in "abc":
        await service.create_review(user(author), draft(3))
    token = (await service.list_reviews("p1", ReviewOrder.NEWEST, 1, "")).next_page_token
    with pytest.raises(InvalidArgumentError):
        await service.list_reviews("p1", ReviewOrder.HIGHEST_RATING, 1, token)
    with pytest.raises(InvalidArgumentError):
        await service.list_reviews("p1", ReviewOrder.NEWEST, 1, "garbage!")


async def test_events_carry_the_summary_and_the_ledger_version_in_order() -> None:
    service, store = make_service()
    review = await service.create_review(user("u1"), draft(4))
    await service.create_review(user("u2"), draft(2, product_id="p2"))
    await service.delete_review(user("u1"), review.id)

    # What the store recorded with each change is the event the relay publishes.
    sent = [Event.FromString(store.events[key]) for key in sorted(store.changes)]
    assert len(sent) == 3
    p1 = [e for e in sent if e.aggregate_id == "p1"]
    assert [(e.event_type, e.aggregate_version) for e in p1] == [
        ("shop.events.v1.ReviewCreated", 1),
        ("shop.events.v1.ReviewDeleted", 2),
    ]
    created: events_pb2.ReviewCreated = p1[0].review_created
    assert (created.rating_summary.count, created.rating_summary.average) == (1, 4.0)
    assert p1[1].review_deleted.rating_summary.count == 0


def test_summary_arithmetic() -> None:
    summary = RatingSummary("p").adding(5).adding(4).adding(4)
    assert summary.count == 3 and summary.average == pytest.approx(13 / 3)
    assert summary.removing(4).histogram == (0, 0, 0, 1, 1)
    with pytest.raises(ValueError):
        summary.removing(1)
    with pytest.raises(ValueError):
        summary.adding(6)
    assert ChangeKind("deleted") is ChangeKind.DELETED
