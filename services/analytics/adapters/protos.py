"""Between the analytics reports and protobuf messages; money as integer minor units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from shop.analytics.v1 import analytics_pb2

from mesh.money import from_minor_units

from ..domain.reports import Funnel, ProductSales, SalesSummary, TopMetric

_METRICS: Final = {
    analytics_pb2.TOP_PRODUCTS_METRIC_UNSPECIFIED: TopMetric.REVENUE,
    analytics_pb2.TOP_PRODUCTS_METRIC_REVENUE: TopMetric.REVENUE,
    analytics_pb2.TOP_PRODUCTS_METRIC_UNITS: TopMetric.UNITS,
}


def metric_from_proto(metric: analytics_pb2.TopProductsMetric.ValueType) -> TopMetric:
    return _METRICS[metric]


def summary_to_proto(summary: SalesSummary) -> analytics_pb2.SalesSummary:
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


def top_products_to_proto(
    currency: str, products: Sequence[ProductSales]
) -> analytics_pb2.GetTopProductsResponse:
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


def funnel_to_proto(funnel: Funnel) -> analytics_pb2.Funnel:
    return analytics_pb2.Funnel(
        start_date=funnel.range.start.isoformat(),
        end_date=funnel.range.end.isoformat(),
        cart_adds=funnel.cart_adds,
        checkouts_started=funnel.checkouts_started,
        orders_paid=funnel.orders_paid,
        cart_to_checkout_rate=funnel.cart_to_checkout_rate,
        checkout_to_paid_rate=funnel.checkout_to_paid_rate,
    )
