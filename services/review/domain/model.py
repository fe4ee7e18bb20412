"""Reviews and rating summaries: plain business rules, no I/O.

Every review posted or deleted is a `RatingChange` in a per-product ledger numbered 1, 2, 3...
Each change carries the product's rating summary after it, derived from the previous
change's summary, so the summary always equals the reviews counted so far and its version
(the change number) orders the events consumers receive.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

STARS = 5


@dataclass(frozen=True, slots=True)
class Review:
    id: str
    product_id: str
    user_id: str
    author_name: str
    rating: int
    title: str
    body: str
    verified_purchase: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RatingSummary:
    product_id: str
    # Reviews per rating: index 0 for 1 star ... index 4 for 5 stars.
    histogram: tuple[int, ...] = (0,) * STARS

    @property
    def count(self) -> int:
        return sum(self.histogram)

    @property
    def average(self) -> float:
        if not self.count:
            return 0.0
        total = sum(stars * n for stars, n in enumerate(self.histogram, start=1))
        return total / self.count

    def adding(self, rating: int) -> RatingSummary:
        return self._shifted(rating, +1)

    def removing(self, rating: int) -> RatingSummary:
        if self.histogram[rating - 1] == 0:
            raise ValueError(f"no {rating}-star review to remove from {self.product_id}")
        return self._shifted(rating, -1)

    def _shifted(self, rating: int, by: int) -> RatingSummary:
        if not 1 <= rating <= STARS:
            raise ValueError(f"rating {rating} is outside 1..{STARS}")
        counts = list(self.histogram)
        counts[rating - 1] += by
        return replace(self, histogram=tuple(counts))


class ChangeKind(enum.Enum):
    CREATED = "created"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class RatingChange:
    product_id: str
    # Position in the product's ledger: 1 for its first change.
    version: int
    kind: ChangeKind
    review: Review
    summary: RatingSummary
    # One change per operation: "created:<review id>" / "deleted:<review id>".
    op_key: str
    event_id: str
    occurred_at: datetime


def op_key(kind: ChangeKind, review_id: str) -> str:
    return f"{kind.value}:{review_id}"


def next_change(
    latest: RatingChange | None,
    kind: ChangeKind,
    review: Review,
    *,
    event_id: str,
    at: datetime,
) -> RatingChange:
    """The change that follows `latest` (None: the product's first) in the product's ledger."""
    before = latest.summary if latest else RatingSummary(review.product_id)
    after = (
        before.adding(review.rating)
        if kind is ChangeKind.CREATED
        else before.removing(review.rating)
    )
    return RatingChange(
        product_id=review.product_id,
        version=(latest.version if latest else 0) + 1,
        kind=kind,
        review=review,
        summary=after,
        op_key=op_key(kind, review.id),
        event_id=event_id,
        occurred_at=at,
    )


class ReviewOrder(enum.Enum):
    NEWEST = "newest"
    HIGHEST_RATING = "highest_rating"
