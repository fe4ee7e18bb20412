"""AnalyticsService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any

from grpc import aio
from shop.analytics.v1 import analytics_pb2, analytics_pb2_grpc

from mesh.auth import current_identity

from .adapters.protos import (
    funnel_to_proto,
    metric_from_proto,
    summary_to_proto,
    top_products_to_proto,
)
from .service_layer.analytics import Analytics

Context = aio.ServicerContext[Any, Any]


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    def __init__(self, analytics: Analytics) -> None:
        self._analytics = analytics

    async def GetSalesSummary(
        self, request: analytics_pb2.GetSalesSummaryRequest, context: Context
    ) -> analytics_pb2.SalesSummary:
        summary = await self._analytics.sales_summary(
            current_identity(), request.start_date, request.end_date, request.currency_code
        )
        return summary_to_proto(summary)

    async def GetTopProducts(
        self, request: analytics_pb2.GetTopProductsRequest, context: Context
    ) -> analytics_pb2.GetTopProductsResponse:
        currency, products = await self._analytics.top_products(
            current_identity(),
            request.start_date,
            request.end_date,
            request.currency_code,
            metric_from_proto(request.metric),
            request.limit,
        )
        return top_products_to_proto(currency, products)

    async def GetFunnel(
        self, request: analytics_pb2.GetFunnelRequest, context: Context
    ) -> analytics_pb2.Funnel:
        funnel = await self._analytics.funnel(
            current_identity(), request.start_date, request.end_date
        )
        return funnel_to_proto(funnel)
