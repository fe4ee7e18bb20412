"""Between review domain objects and their protobuf messages."""

from __future__ import annotations

from shop.review.v1 import review_pb2

from mesh.clock import to_timestamp

from ..domain.model import RatingSummary, Review, ReviewOrder

ORDERS = {
    review_pb2.REVIEW_ORDER_UNSPECIFIED: ReviewOrder.NEWEST,
    review_pb2.REVIEW_ORDER_NEWEST: ReviewOrder.NEWEST,
    review_pb2.REVIEW_ORDER_HIGHEST_RATING: ReviewOrder.HIGHEST_RATING,
}


def review_to_proto(review: Review) -> review_pb2.Review:
    return review_pb2.Review(
        id=review.id,
        product_id=review.product_id,
        user_id=review.user_id,
        author_name=review.author_name,
        rating=review.rating,
        title=review.title,
        body=review.body,
        verified_purchase=review.verified_purchase,
        create_time=to_timestamp(review.created_at),
    )


def summary_to_proto(summary: RatingSummary) -> review_pb2.RatingSummary:
    return review_pb2.RatingSummary(
        product_id=summary.product_id,
        average=summary.average,
        count=summary.count,
        histogram=list(summary.histogram),
    )
