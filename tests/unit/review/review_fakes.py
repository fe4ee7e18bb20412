"""In-memory review store and upstreams with the same contracts as the real ones."""

from __future__ import annotations

from datetime import datetime

from services.review.domain.model import RatingChange, Review, ReviewOrder
from services.review.domain.pagination import PageCursor
from services.review.service_layer.ports import (
    DuplicateReview,
    EncodeEvent,
    NextChange,
    ReviewStore,
)


def _sort_key(review: Review, order: ReviewOrder) -> tuple[int, datetime, str]:
    rating = review.rating if order is ReviewOrder.HIGHEST_RATING else 0
    return (rating, review.created_at, review.id)


class FakeReviewStore(ReviewStore):
    def __init__(self, encode_event: EncodeEvent = lambda change: change.event_id.encode()) -> None:
        self._encode_event = encode_event
        self.reviews: dict[str, Review] = {}
        self.recorded: set[str] = set()
        self.changes: dict[tuple[str, int], RatingChange] = {}
        self.events: dict[tuple[str, int], bytes] = {}

    async def add_review(self, review: Review) -> None:
        if await self.find_by_author(review.product_id, review.user_id):
            raise DuplicateReview(review.product_id, review.user_id)
        self.reviews[review.id] = review

    async def get_review(self, review_id: str) -> Review | None:
        return self.reviews.get(review_id)

    async def find_by_author(self, product_id: str, user_id: str) -> Review | None:
        return next(
            (
                r
                for r in self.reviews.values()
                if (r.product_id, r.user_id) == (product_id, user_id)
            ),
            None,
        )

    async def list_page(
        self, product_id: str, order: ReviewOrder, after: PageCursor | None, limit: int
    ) -> tuple[list[Review], int]:
        mine = [r for r in self.reviews.values() if r.product_id == product_id]
        ordered = sorted(mine, key=lambda r: _sort_key(r, order), reverse=True)
        if after is not None:
            rating = after.rating if order is ReviewOrder.HIGHEST_RATING else 0
            bound = (rating, after.created_at, after.review_id)
            ordered = [r for r in ordered if _sort_key(r, order) < bound]
        return ordered[:limit], len(mine)

    async def remove_review(self, review_id: str) -> None:
        self.reviews.pop(review_id, None)

    async def mark_recorded(self, review_id: str) -> None:
        self.recorded.add(review_id)

    async def unrecorded(self, created_before: datetime, limit: int) -> list[Review]:
        stale = [
            r
            for r in self.reviews.values()
            if r.id not in self.recorded and r.created_at < created_before
        ]
        return stale[:limit]

    async def latest_change(self, product_id: str) -> RatingChange | None:
        mine = [c for (pid, _), c in self.changes.items() if pid == product_id]
        return max(mine, key=lambda c: c.version, default=None)

    async def commit(self, product_id: str, op_key: str, next_change: NextChange) -> RatingChange:
        earlier = next((c for c in self.changes.values() if c.op_key == op_key), None)
        if earlier is not None:
            return earlier
        change = next_change(await self.latest_change(product_id))
        self.changes[(change.product_id, change.version)] = change
        self.events[(change.product_id, change.version)] = self._encode_event(change)
        return change


class FakeProducts:
    def __init__(self, *product_ids: str) -> None:
        self.product_ids = set(product_ids)

    async def exists(self, product_id: str) -> bool:
        return product_id in self.product_ids


class FakePurchases:
    def __init__(self, *bought: tuple[str, str]) -> None:
        self.bought = set(bought)

    async def has_purchased(self, user_id: str, product_id: str) -> bool:
        return (user_id, product_id) in self.bought


class FakeProfiles:
    async def display_name(self, user_id: str) -> str:
        return f"User {user_id}"
