"""The port the review use cases write against; MongoReviewStore implements it."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.review.domain import PageCursor, RatingChange, Review, ReviewOrder


class DuplicateReview(Exception):
    """The author already has a review of the product."""


class VersionTaken(Exception):
    """Another change took this version of the product's ledger first."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A recorded change's event, waiting to be published."""

    change_id: str
    product_id: str
    kind: str
    review_id: str
    event: bytes


# Turns a change into the serialized event stored with it (called in the request's context).
EncodeEvent = Callable[[RatingChange], bytes]


class ReviewStore(abc.ABC):
    # --- reviews (what ListReviews shows) -------------------------------------------------

    @abc.abstractmethod
    async def add_review(self, review: Review) -> None:
        """Stores a new review; DuplicateReview when its author has one of the product."""

    @abc.abstractmethod
    async def get_review(self, review_id: str) -> Review | None: ...

    @abc.abstractmethod
    async def find_by_author(self, product_id: str, user_id: str) -> Review | None: ...

    @abc.abstractmethod
    async def list_page(
        self, product_id: str, order: ReviewOrder, after: PageCursor | None, limit: int
    ) -> tuple[list[Review], int]:
        """Up to `limit` reviews after `after` in `order`, and how many the product has."""

    @abc.abstractmethod
    async def remove_review(self, review_id: str) -> None: ...

    @abc.abstractmethod
    async def mark_recorded(self, review_id: str) -> None:
        """Notes that the review's CREATED change is in the ledger."""

    @abc.abstractmethod
    async def unrecorded(self, created_before: datetime, limit: int) -> list[Review]:
        """Reviews stored before `created_before` whose CREATED change may be missing."""

    # --- the per-product ledger of rating changes -----------------------------------------

    @abc.abstractmethod
    async def latest_change(self, product_id: str) -> RatingChange | None: ...

    @abc.abstractmethod
    async def find_change(self, op_key: str) -> RatingChange | None: ...

    @abc.abstractmethod
    async def insert_change(self, change: RatingChange) -> RatingChange:
        """Appends `change` atomically, with its event, unpublished.

        Returns the change already stored under its op key when there is one; raises
        VersionTaken when another change holds its version.
        """

    @abc.abstractmethod
    async def unpublished(self, limit: int) -> list[OutboxEntry]:
        """Events of recorded changes not yet published, each product's in version order."""

    @abc.abstractmethod
    async def mark_published(self, change_ids: Sequence[str]) -> None: ...
