"""The review store on the MongoDB wire protocol (FerretDB in the local platform).

FerretDB 1.x runs updates as unlocked read-modify-write and has no transactions; what is
atomic is an insert against a unique index. So both invariants live in unique inserts:
one review per author and product (index on product_id + user_id), and one change per
version of a product's rating ledger (`_id` = product@version). Updates only ever set a
field to the same value from every writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from services.review.adapters.documents import (
    Document,
    change_from_doc,
    change_to_doc,
    review_from_doc,
    review_to_doc,
)
from services.review.adapters.repository import (
    DuplicateReview,
    EncodeEvent,
    OutboxEntry,
    ReviewStore,
    VersionTaken,
)
from services.review.domain import PageCursor, RatingChange, Review, ReviewOrder

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
    "rating_changes": [
        IndexModel([("op_key", ASCENDING)], name="op_key_unique", unique=True),
        IndexModel([("product_id", ASCENDING), ("version", DESCENDING)], name="product_version"),
        IndexModel(
            [("published", ASCENDING), ("product_id", ASCENDING), ("version", ASCENDING)],
            name="unpublished",
        ),
    ],
}


class MongoReviewStore(ReviewStore):
    def __init__(self, db: AsyncIOMotorDatabase[Document], encode_event: EncodeEvent) -> None:
        self._encode_event = encode_event
        self._reviews = db.reviews
        self._changes = db.rating_changes

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
        doc = await self._changes.find_one(
            {"product_id": product_id}, sort=[("version", DESCENDING)]
        )
        return change_from_doc(doc) if doc else None

    async def find_change(self, op_key: str) -> RatingChange | None:
        doc = await self._changes.find_one({"op_key": op_key})
        return change_from_doc(doc) if doc else None

    async def insert_change(self, change: RatingChange) -> RatingChange:
        doc = change_to_doc(change)
        doc.update(event=self._encode_event(change), published=False)
        try:
            await self._changes.insert_one(doc)
            return change
        except DuplicateKeyError as error:
            if earlier := await self.find_change(change.op_key):
                return earlier
            raise VersionTaken(change.product_id, change.version) from error

    async def unpublished(self, limit: int) -> list[OutboxEntry]:
        cursor = (
            self._changes.find({"published": False})
            .sort([("product_id", ASCENDING), ("version", ASCENDING)])
            .limit(limit)
        )
        return [
            OutboxEntry(
                doc["_id"], doc["product_id"], doc["kind"], doc["review"]["_id"], doc["event"]
            )
            async for doc in cursor
        ]

    async def mark_published(self, change_ids: Sequence[str]) -> None:
        await self._changes.update_many(
            {"_id": {"$in": list(change_ids)}}, {"$set": {"published": True}}
        )


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
