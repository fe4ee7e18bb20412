"""Mapping between review domain objects and their MongoDB documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mesh.mongo import Document, entry_id

from ..domain.model import ChangeKind, RatingChange, RatingSummary, Review


def review_to_doc(review: Review) -> Document:
    return {
        "_id": review.id,
        "product_id": review.product_id,
        "user_id": review.user_id,
        "author_name": review.author_name,
        "rating": review.rating,
        "title": review.title,
        "body": review.body,
        "verified_purchase": review.verified_purchase,
        "created_at": review.created_at,
    }


def review_from_doc(doc: Mapping[str, Any]) -> Review:
    return Review(
        id=doc["_id"],
        product_id=doc["product_id"],
        user_id=doc["user_id"],
        author_name=doc["author_name"],
        rating=int(doc["rating"]),
        title=doc["title"],
        body=doc["body"],
        verified_purchase=bool(doc["verified_purchase"]),
        created_at=doc["created_at"],
    )


def change_to_doc(change: RatingChange) -> Document:
    return {
        "_id": entry_id(change.product_id, change.version),
        "product_id": change.product_id,
        "version": change.version,
        "kind": change.kind.value,
        "review": review_to_doc(change.review),
        "histogram": list(change.summary.histogram),
        "op_key": change.op_key,
        "event_id": change.event_id,
        "occurred_at": change.occurred_at,
    }


def change_from_doc(doc: Mapping[str, Any]) -> RatingChange:
    return RatingChange(
        product_id=doc["product_id"],
        version=int(doc["version"]),
        kind=ChangeKind(doc["kind"]),
        review=review_from_doc(doc["review"]),
        summary=RatingSummary(doc["product_id"], tuple(int(n) for n in doc["histogram"])),
        op_key=doc["op_key"],
        event_id=doc["event_id"],
        occurred_at=doc["occurred_at"],
    )
