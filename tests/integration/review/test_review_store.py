"""MongoReviewStore on the real FerretDB: the unique inserts and queries it relies on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from mesh.mongo import Database, MongoOutbox, VersionTaken, connect, create_indexes
from services.review.adapters.mongo import INDEXES, MongoReviewStore, review_outbox
from services.review.domain.model import ChangeKind, Review, ReviewOrder, next_change
from services.review.domain.pagination import PageCursor
from services.review.service_layer.ports import DuplicateReview
from services.review.service_layer.reviews import ReviewService

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(ferretdb_url: str) -> AsyncIterator[Database]:
    client = connect(ferretdb_url)
    database = client[f"review_{uuid.uuid4().hex[:10]}"]
    await create_indexes(database, INDEXES)
    await create_indexes(database, INDEXES)  # idempotent: every start runs it
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


@pytest.fixture
def outbox(db: Database) -> MongoOutbox:
    return review_outbox(db)


@pytest.fixture
def store(db: Database, outbox: MongoOutbox) -> MongoReviewStore:
    return MongoReviewStore(db, outbox, encode_event=lambda change: change.event_id.encode())


def review(rid: str, user: str, rating: int, at: datetime = AT) -> Review:
    return Review(rid, "p1", user, "", rating, "t", "b", False, at)


async def test_one_review_per_author_and_product(store: MongoReviewStore) -> None:
    await store.add_review(review("r1", "u1", 4))
    with pytest.raises(DuplicateReview):
        await store.add_review(review("r2", "u1", 5))
    assert (await store.find_by_author("p1", "u1")) == review("r1", "u1", 4)


async def test_keyset_pages_with_ties_in_both_orders(store: MongoReviewStore) -> None:
    # Equal timestamps and equal ratings: the id breaks the ties.
    for i, rating in enumerate([3, 5, 5, 1, 3, 5]):
        at = AT + timedelta(milliseconds=i // 2)
        await store.add_review(review(f"r{i}", f"u{i}", rating, at))
    for order, expected in [
        (ReviewOrder.NEWEST, ["r5", "r4", "r3", "r2", "r1", "r0"]),
        (ReviewOrder.HIGHEST_RATING, ["r5", "r2", "r1", "r4", "r0", "r3"]),
    ]:
        seen: list[str] = []
        after: PageCursor | None = None
        while True:
            page, total = await store.list_page("p1", order, after, 2)
            assert total == 6
            seen += [r.id for r in page]
            if len(page) < 2:
                break
            after = PageCursor.after(page[-1], order)
        assert seen == expected, order


async def test_ledger_versions_and_operations_are_unique(
    store: MongoReviewStore, outbox: MongoOutbox
) -> None:
    first = next_change(None, ChangeKind.CREATED, review("r1", "u1", 4), event_id="e1", at=AT)
    assert await store.insert_change(first) == first
    # The same operation again returns what was recorded; another one at its version loses.
    again = next_change(None, ChangeKind.CREATED, review("r1", "u1", 4), event_id="e9", at=AT)
    assert (await store.insert_change(again)).event_id == "e1"
    rival = next_change(None, ChangeKind.CREATED, review("r2", "u2", 1), event_id="e2", at=AT)
    with pytest.raises(VersionTaken):
        await store.insert_change(rival)
    second = next_change(first, ChangeKind.CREATED, review("r2", "u2", 1), event_id="e2", at=AT)
    await store.insert_change(second)
    latest = await store.latest_change("p1")
    assert (
        latest is not None and latest.version == 2 and latest.summary.histogram == (1, 0, 0, 1, 0)
    )

    pending = await outbox.pending(10)
    assert [(e.source_id, e.event) for e in pending] == [
        ("p1@000000000001", b"e1"),
        ("p1@000000000002", b"e2"),
    ]
    await outbox.remove([pending[0].event_id])
    assert [e.source_id for e in await outbox.pending(10)] == ["p1@000000000002"]


async def test_repair_counts_a_review_whose_writer_died(store: MongoReviewStore) -> None:
    class Nobody:
        async def exists(self, product_id: str) -> bool:
            return True

        async def has_purchased(self, user_id: str, product_id: str) -> bool:
            return False

        async def display_name(self, user_id: str) -> str:
            return ""

    service = ReviewService(store, Nobody(), Nobody(), Nobody(), clock=lambda: AT)
    await store.add_review(review("r1", "u1", 5, AT - timedelta(minutes=5)))  # then "crashed"
    assert (await service.rating_summary("p1")).count == 0
    assert await service.repair(timedelta(minutes=1)) == 1
    assert (await service.rating_summary("p1")).count == 1
    assert await store.unrecorded(AT, 10) == []
    assert await service.repair(timedelta(minutes=1)) == 0
