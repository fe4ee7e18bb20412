"""The review store on the MongoDB wire protocol (FerretDB in the local platform).

FerretDB 1.x runs updates as unlocked read-modify-write and has no transactions; what is
atomic is an insert against a unique index. So both invariants live in unique inserts:
one review per author and product (index on product_id + user_id), and one change per
version of a product's rating ledger (`mesh.mongo.Ledger`, `_id` = product@version), whose
events go out through the outbox. `rating_heads` remembers each product's latest ledger
version, so the latest change is found by `_id` lookups instead of a sort over the
product's whole history. Updates only ever set a field to the same value from every writer,
or move a head forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from mesh.mongo import (
    LEDGER_INDEXES,
    Database,
    Document,
    Ledger,
    LedgerEntry,
    MongoOutbox,
    PendingEvent,
)

from ..domain.model import ChangeKind, RatingChange, Review, ReviewOrder
from ..domain.pagination import PageCursor
from ..service_layer.ports import DuplicateReview, EncodeEvent, NextChange, ReviewStore
from .documents import change_from_doc, change_to_doc, review_from_doc, review_to_doc

_SORT: dict[ReviewOrder, list[tuple[str, int]]] = {
    ReviewOrder.NEWEST: [("created_at", DESCENDING), ("_id", DESCENDING)],
    ReviewOrder.HIGHEST_RATING: [
        ("rating", DESCENDING),
        ("created_at", DESCENDING),
        ("_id", DESCENDING),
    ],
}

INDEXES: dict[str, list[IndexModel]] = {
    "reviews": [
        IndexModel(
            [("product_id", ASCENDING), ("user_id", ASCENDING)], name="author_unique", unique=True
        ),
        IndexModel([("product_id", ASCENDING), *_SORT[ReviewOrder.NEWEST]], name="newest"),
        IndexModel([("product_id", ASCENDING), *_SORT[ReviewOrder.HIGHEST_RATING]], name="highest"),
        IndexModel([("recorded", ASCENDING), ("created_at", ASCENDING)], name="unrecorded"),
    ],
    "rating_changes": LEDGER_INDEXES,
    "outbox": [IndexModel([("stream", ASCENDING), ("seq", ASCENDING)], name="stream_seq")],
}


def review_outbox(db: Database) -> MongoOutbox:
    return MongoOutbox(db.outbox, db.rating_changes)


class MongoReviewStore(ReviewStore):
    def __init__(self, db: Database, outbox: MongoOutbox, encode_event: EncodeEvent) -> None:
        self._encode_event = encode_event
        self._reviews = db.reviews
        self._ledger = Ledger(db.rating_changes, outbox)
        self._heads = db.rating_heads

    async def add_review(self, review: Review) -> None:
        try:
            await self._reviews.insert_one({**review_to_doc(review), "recorded": False})
        except DuplicateKeyError as error:
            raise DuplicateReview(review.product_id, review.user_id) from error

    async def get_review(self, review_id: str) -> Review | None:
        doc = await self._reviews.find_one({"_id": review_id})
        return review_from_doc(doc) if doc else None

    async def find_by_author(self, product_id: str, user_id: str) -> Review | None:
        doc = await self._reviews.find_one({"product_id": product_id, "user_id": user_id})
        return review_from_doc(doc) if doc else None

    async def list_page(
        self, product_id: str, order: ReviewOrder, after: PageCursor | None, limit: int
    ) -> tuple[list[Review], int]:
        query: Document = {"product_id": product_id}
        if after is not None:
            query["$or"] = _after(order, after)
        cursor = self._reviews.find(query).sort(_SORT[order]).limit(limit)
        reviews = [review_from_doc(doc) async for doc in cursor]
        return reviews, await self._reviews.count_documents({"product_id": product_id})

    async def remove_review(self, review_id: str) -> None:
        await self._reviews.delete_one({"_id": review_id})

    async def mark_recorded(self, review_id: str) -> None:
        await self._reviews.update_one({"_id": review_id}, {"$set": {"recorded": True}})

    async def unrecorded(self, created_before: datetime, limit: int) -> list[Review]:
        cursor = self._reviews.find(
            {"recorded": False, "created_at": {"$lt": created_before}}
        ).limit(limit)
        return [review_from_doc(doc) async for doc in cursor]

    async def latest_change(self, product_id: str) -> RatingChange | None:
        head = await self._heads.find_one({"_id": product_id})
        doc = await self._ledger.latest(product_id, int(head["version"]) if head else 0)
        return change_from_doc(doc) if doc else None

    async def find_change(self, op_key: str) -> RatingChange | None:
        doc = await self._ledger.find(op_key)
        return change_from_doc(doc) if doc else None

    async def insert_change(self, change: RatingChange) -> RatingChange:
        """Appends `change` with its event; returns the change already recorded under its op
        key, or raises `mesh.mongo.VersionTaken` when another change holds its version."""
        stored = change_from_doc(await self._ledger.insert(self._entry(change)))
        await self._move_head(stored)
        return stored

    async def commit(self, product_id: str, op_key: str, next_change: NextChange) -> RatingChange:
        async def build() -> LedgerEntry:
            return self._entry(next_change(await self.latest_change(product_id)))

        doc = await self._ledger.commit(build, op_key=op_key, contended=f"reviews of {product_id}")
        assert doc is not None, "a rating change is always built"
        stored = change_from_doc(doc)
        await self._move_head(stored)
        return stored

    async def remove_uncounted(self, batch: Sequence[PendingEvent]) -> None:
        """Before DELETED events go out: the deleting call may have died before removing the
        review it uncounted."""
        for pending in batch:
            if pending.meta.get("deleted_review"):
                await self.remove_review(pending.meta["deleted_review"])

    def _entry(self, change: RatingChange) -> LedgerEntry:
        deleted = {"deleted_review": change.review.id} if change.kind is ChangeKind.DELETED else {}
        return LedgerEntry(
            change_to_doc(change),
            change.product_id,
            change.version,
            self._encode_event(change),
            meta=deleted,
        )

    async def _move_head(self, change: RatingChange) -> None:
        """Moves the product's head forward (never back): a lagging head only costs the next
        reader one more lookup."""
        try:
            await self._heads.update_one(
                {"_id": change.product_id, "version": {"$lt": change.version}},
                {"$set": {"version": change.version}},
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # the head is at this version or past it already


def _after(order: ReviewOrder, cursor: PageCursor) -> list[dict[str, Any]]:
    """Keyset condition: strictly after `cursor` in the descending sort of `order`."""
    at, rid = cursor.created_at, cursor.review_id
    by_time: list[dict[str, Any]] = [
        {"created_at": {"$lt": at}},
        {"created_at": at, "_id": {"$lt": rid}},
    ]
    if order is ReviewOrder.NEWEST:
        return by_time
    return [
        {"rating": {"$lt": cursor.rating}},
        *({"rating": cursor.rating, **condition} for condition in by_time),
    ]
