"""What the review use cases need: their store, and the three services they ask.

MongoReviewStore (adapters/mongo.py) and the gRPC clients (adapters/upstream.py) implement
them; unit tests use fakes.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from ..domain.model import RatingChange, Review, ReviewOrder
from ..domain.pagination import PageCursor


class DuplicateReview(Exception):
    """The author already has a review of the product."""


# Turns a change into the serialized event stored with it (called in the request's context).
EncodeEvent = Callable[[RatingChange], bytes]

# Given the product's latest change (None: its first), returns the change that follows it.
# May be called again when another writer took that version first.
NextChange = Callable[[RatingChange | None], RatingChange]


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
    async def commit(self, product_id: str, op_key: str, next_change: NextChange) -> RatingChange:
        """Appends the change `next_change` builds on the latest one, with its event, once
        per `op_key`: when that operation is recorded already, returns the recorded change."""


class Products(Protocol):
    async def exists(self, product_id: str) -> bool: ...


class Purchases(Protocol):
    async def has_purchased(self, user_id: str, product_id: str) -> bool: ...


class Profiles(Protocol):
    async def display_name(self, user_id: str) -> str: ...
