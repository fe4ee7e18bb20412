"""Where a ListReviews page ended: the last review's sort key, for one product and order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mesh.pagination import PageTokenCodec, Scalar, from_micros, to_micros

from .model import Review, ReviewOrder


@dataclass(frozen=True, slots=True)
class PageCursor:
    product_id: str
    order: ReviewOrder
    rating: int
    created_at: datetime
    review_id: str

    @classmethod
    def after(cls, review: Review, order: ReviewOrder) -> PageCursor:
        return cls(review.product_id, order, review.rating, review.created_at, review.id)

    def encode(self) -> str:
        return _CODEC.encode(
            _Key(self.rating, self.created_at, self.review_id),
            query=_query(self.product_id, self.order),
        )

    @classmethod
    def decode(cls, token: str, product_id: str, order: ReviewOrder) -> PageCursor:
        """INVALID_ARGUMENT for a foreign token or one issued for another product or order."""
        key = _CODEC.decode(token, query=_query(product_id, order))
        assert key is not None, "callers decode only non-empty tokens"
        return cls(product_id, order, key.rating, key.created_at, key.review_id)


@dataclass(frozen=True, slots=True)
class _Key:
    rating: int
    created_at: datetime
    review_id: str


def _dump(key: _Key) -> tuple[int, int, str]:
    return key.rating, to_micros(key.created_at), key.review_id


def _load(values: Sequence[Scalar]) -> _Key:
    rating, micros, review_id = values
    if isinstance(rating, bool) or not isinstance(rating, int) or not isinstance(review_id, str):
        raise TypeError("a review page key is (rating, time, id)")
    return _Key(rating, from_micros(micros), review_id)


def _query(product_id: str, order: ReviewOrder) -> str:
    return f"{product_id}|{order.value}"


_CODEC: PageTokenCodec[_Key] = PageTokenCodec(_dump, _load)
