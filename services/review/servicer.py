"""ReviewService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any

from google.protobuf import empty_pb2
from grpc import aio
from shop.review.v1 import review_pb2, review_pb2_grpc

from mesh.auth import current_identity

from .adapters.protos import ORDERS, review_to_proto, summary_to_proto
from .service_layer.reviews import ReviewDraft, ReviewService

Context = aio.ServicerContext[Any, Any]


class ReviewServicer(review_pb2_grpc.ReviewServiceServicer):
    def __init__(self, reviews: ReviewService) -> None:
        self._reviews = reviews

    async def CreateReview(
        self, request: review_pb2.CreateReviewRequest, context: Context
    ) -> review_pb2.Review:
        draft = ReviewDraft(request.product_id, request.rating, request.title, request.body)
        return review_to_proto(await self._reviews.create_review(current_identity(), draft))

    async def ListReviews(
        self, request: review_pb2.ListReviewsRequest, context: Context
    ) -> review_pb2.ListReviewsResponse:
        page = await self._reviews.list_reviews(
            request.product_id, ORDERS[request.order_by], request.page_size, request.page_token
        )
        return review_pb2.ListReviewsResponse(
            reviews=[review_to_proto(review) for review in page.reviews],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetRatingSummary(
        self, request: review_pb2.GetRatingSummaryRequest, context: Context
    ) -> review_pb2.RatingSummary:
        return summary_to_proto(await self._reviews.rating_summary(request.product_id))

    async def DeleteReview(
        self, request: review_pb2.DeleteReviewRequest, context: Context
    ) -> empty_pb2.Empty:
        await self._reviews.delete_review(current_identity(), request.id)
        return empty_pb2.Empty()
