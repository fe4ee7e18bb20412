"""Review use cases. Every review counted or uncounted is a change in the product's ledger.

Reading is public; any signed-in user may review; a review is deleted by its author or by
staff with `products:write`. The use cases receive the caller and decide.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.clock import Clock, utc_now_ms
from mesh.errors import AlreadyExistsError, NotFoundError, PermissionDeniedError

from ..domain.model import (
    ChangeKind,
    RatingChange,
    RatingSummary,
    Review,
    ReviewOrder,
    next_change,
    op_key,
)
from ..domain.pagination import PageCursor
from .ports import DuplicateReview, Products, Profiles, Purchases, ReviewStore

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class ReviewDraft:
    product_id: str
    rating: int
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class Page:
    reviews: list[Review]
    next_page_token: str
    total_size: int


def new_id() -> str:
    return uuid.uuid4().hex


class ReviewService:
    def __init__(
        self,
        store: ReviewStore,
        products: Products,
        purchases: Purchases,
        profiles: Profiles,
        clock: Clock = utc_now_ms,
        ids: Callable[[], str] = new_id,
    ) -> None:
        self._store = store
        self._products = products
        self._purchases = purchases
        self._profiles = profiles
        self._clock = clock
        self._ids = ids

    async def create_review(self, author: Identity, draft: ReviewDraft) -> Review:
        author_id = author.subject
        if await self._store.find_by_author(draft.product_id, author_id):
            raise _already_reviewed(draft.product_id)
        if not await self._products.exists(draft.product_id):
            raise NotFoundError(
                f"product {draft.product_id} not found",
                resource_type="product",
                resource_name=draft.product_id,
            )
        verified, author_name = await asyncio.gather(
            self._purchases.has_purchased(author_id, draft.product_id),
            self._profiles.display_name(author_id),
        )
        review = Review(
            id=self._ids(),
            product_id=draft.product_id,
            user_id=author_id,
            author_name=author_name,
            rating=draft.rating,
            title=draft.title,
            body=draft.body,
            verified_purchase=verified,
            created_at=self._clock(),
        )
        try:
            await self._store.add_review(review)
        except DuplicateReview as error:
            raise _already_reviewed(draft.product_id) from error
        await self._record_created(review)
        return review

    async def get_review(self, review_id: str) -> Review:
        review = await self._store.get_review(review_id)
        if review is None:
            raise NotFoundError(
                f"review {review_id} not found", resource_type="review", resource_name=review_id
            )
        return review

    async def delete_review(self, caller: Identity, review_id: str) -> None:
        """Uncounts and removes the review; repeating it is harmless."""
        review = await self.get_review(review_id)
        if caller.subject != review.user_id and not caller.has_permission(rbac.PRODUCTS_WRITE):
            raise PermissionDeniedError(
                f"only the user themselves or a holder of {rbac.PRODUCTS_WRITE} may do this",
                reason="NOT_OWNER",
                metadata={"permission": rbac.PRODUCTS_WRITE},
            )
        # Its CREATED change must be in the ledger before the DELETED one uncounts it.
        await self._record_created(review)
        await self._commit(review, ChangeKind.DELETED)
        await self._store.remove_review(review.id)

    async def list_reviews(
        self, product_id: str, order: ReviewOrder, page_size: int, page_token: str
    ) -> Page:
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = PageCursor.decode(page_token, product_id, order) if page_token else None
        reviews, total = await self._store.list_page(product_id, order, after, limit + 1)
        next_token = ""
        if len(reviews) > limit:
            reviews = reviews[:limit]
            next_token = PageCursor.after(reviews[-1], order).encode()
        return Page(reviews, next_token, total)

    async def rating_summary(self, product_id: str) -> RatingSummary:
        latest = await self._store.latest_change(product_id)
        return latest.summary if latest else RatingSummary(product_id)

    async def repair(self, older_than: timedelta, limit: int = 100) -> int:
        """Counts reviews whose writer died before counting them; returns how many."""
        stale = await self._store.unrecorded(self._clock() - older_than, limit)
        for review in stale:
            await self._record_created(review)
        return len(stale)

    async def _record_created(self, review: Review) -> None:
        await self._commit(review, ChangeKind.CREATED)
        await self._store.mark_recorded(review.id)

    async def _commit(self, review: Review, kind: ChangeKind) -> RatingChange:
        """Appends the change once per operation, at the next free version of the ledger."""

        def following(latest: RatingChange | None) -> RatingChange:
            return next_change(latest, kind, review, event_id=str(uuid.uuid4()), at=self._clock())

        return await self._store.commit(review.product_id, op_key(kind, review.id), following)


def _already_reviewed(product_id: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"you already reviewed product {product_id}",
        resource_type="review",
        resource_name=product_id,
        reason="ALREADY_REVIEWED",
    )
