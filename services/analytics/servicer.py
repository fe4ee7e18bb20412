"""AnalyticsService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any, Final

from grpc import aio
from shop.analytics.v1 import analytics_pb2, analytics_pb2_grpc

from mesh import rbac
from mesh.auth.identity import require_permission
from mesh.money import from_minor_units
from services.analytics.analytics import Analytics
from services.analytics.domain.reports import TopMetric

Context = aio.ServicerContext[Any, Any]

_METRICS: Final = {
    analytics_pb2.TOP_PRODUCTS_METRIC_UNSPECIFIED: TopMetric.REVENUE,
    analytics_pb2.TOP_PRODUCTS_METRIC_REVENUE: TopMetric.REVENUE,
    analytics_pb2.TOP_PRODUCTS_METRIC_UNITS: TopMetric.UNITS,
}


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    """Staff only: every method needs orders:read (admin, customer-service)."""

    def __init__(self, analytics: Analytics) -> None:
        self._analytics = analytics

    async def GetSalesSummary(
        self, request: analytics_pb2.GetSalesSummaryRequest, context: Context
    ) -> analytics_pb2.SalesSummary:
        require_permission(rbac.ORDERS_READ)
        summary = await self._analytics.sales_summary(
            request.start_date, request.end_date, request.currency_code
        )
        currency = summary.currency
        return analytics_pb2.SalesSummary(
            start_date=summary.range.start.isoformat(),
            end_date=summary.range.end.isoformat(),
            order_count=summary.order_count,
            revenue=from_minor_units(currency, summary.revenue),
            average_order_value=from_minor_units(currency, summary.average_order_value),
            days=[
                analytics_pb2.DailySales(
                    date=day.day.isoformat(),
                    order_count=day.order_count,
                    revenue=from_minor_units(currency, day.revenue),
                    average_order_value=from_minor_units(currency, day.average_order_value),
                )
                for day in summary.days
            ],
        )

    async def GetTopProducts(
        self, request: analytics_pb2.GetTopProductsRequest, context: Context
    ) -> analytics_pb2.GetTopProductsResponse:
        require_permission(rbac.ORDERS_READ)
        currency, products = await self._analytics.top_products(
            request.start_date,
            request.end_date,
            request.currency_code,
            _METRICS[request.metric],
            request.limit,
        )
        return analytics_pb2.GetTopProductsResponse(
            products=[
                analytics_pb2.TopProduct(
                    product_id=product.product_id,
                    name=product.name,
                    units_sold=product.units,
                    revenue=from_minor_units(currency, product.revenue),
                )
                for product in products
            ]
        )

    async def GetFunnel(
        self, request: analytics_pb2.GetFunnelRequest, context: Context
    ) -> analytics_pb2.Funnel:
        require_permission(rbac.ORDERS_READ)
        funnel = await self._analytics.funnel(request.start_date, request.end_date)
        return analytics_pb2.Funnel(
            start_date=funnel.range.start.isoformat(),
            end_date=funnel.range.end.isoformat(),
            cart_adds=funnel.cart_adds,
            checkouts_started=funnel.checkouts_started,
            orders_paid=funnel.orders_paid,
            cart_to_checkout_rate=funnel.cart_to_checkout_rate,
            checkout_to_paid_rate=funnel.checkout_to_paid_rate,
        )
