"""Workloads whose service tokens may call each method, by full method path.

Generated from deploy/mesh/policy.yaml by `python -m tools.gen_callers`; do not edit.
Groups are expanded. Mesh-wide paths (health, reflection) are public and not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["METHOD_CALLERS"]

METHOD_CALLERS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "/shop.user.v1.UserService/Register": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.user.v1.UserService/Login": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.user.v1.UserService/RefreshToken": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.user.v1.UserService/Logout": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.user.v1.UserService/VerifyEmail": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.user.v1.UserService/GetUser": frozenset(
            {
                "gateway",
                "notification",
                "review",
            }
        ),
        "/shop.user.v1.UserService/UpdateUser": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.user.v1.UserService/ListUsers": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.user.v1.UserService/GetJwks": frozenset(
            {
                "analytics",
                "cart",
                "catalog",
                "gateway",
                "notification",
                "order",
                "payment",
                "review",
                "search",
                "user",
            }
        ),
        "/shop.user.v1.UserService/IssueServiceToken": frozenset(
            {
                "analytics",
                "cart",
                "catalog",
                "gateway",
                "notification",
                "order",
                "payment",
                "review",
                "search",
                "user",
            }
        ),
        "/shop.catalog.v1.CatalogService/ListProducts": frozenset(
            {
                "gateway",
                "search",
            }
        ),
        "/shop.catalog.v1.CatalogService/GetProduct": frozenset(
            {
                "cart",
                "gateway",
                "order",
                "review",
                "search",
            }
        ),
        "/shop.catalog.v1.CatalogService/BatchGetProducts": frozenset(
            {
                "cart",
                "gateway",
                "order",
                "review",
                "search",
            }
        ),
        "/shop.catalog.v1.CatalogService/ListCategories": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.catalog.v1.CatalogService/CreateProduct": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.catalog.v1.CatalogService/UpdateProduct": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.catalog.v1.CatalogService/DeleteProduct": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.catalog.v1.CatalogService/ReserveStock": frozenset(
            {
                "order",
            }
        ),
        "/shop.catalog.v1.CatalogService/ReleaseStock": frozenset(
            {
                "order",
            }
        ),
        "/shop.cart.v1.CartService/GetCart": frozenset(
            {
                "gateway",
                "order",
            }
        ),
        "/shop.cart.v1.CartService/AddItem": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.cart.v1.CartService/UpdateItemQuantity": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.cart.v1.CartService/RemoveItem": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.cart.v1.CartService/ClearCart": frozenset(
            {
                "gateway",
                "order",
            }
        ),
        "/shop.order.v1.OrderService/PlaceOrder": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.order.v1.OrderService/GetOrder": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.order.v1.OrderService/ListOrders": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.order.v1.OrderService/CancelOrder": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.order.v1.OrderService/HasPurchased": frozenset(
            {
                "review",
            }
        ),
        "/shop.payment.v1.PaymentService/Charge": frozenset(
            {
                "order",
            }
        ),
        "/shop.payment.v1.PaymentService/Refund": frozenset(
            {
                "order",
            }
        ),
        "/shop.payment.v1.PaymentService/GetPayment": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.notification.v1.NotificationService/SendNotification": frozenset(
            {
                "order",
                "user",
            }
        ),
        "/shop.notification.v1.NotificationService/ListNotifications": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.notification.v1.NotificationService/GetPreferences": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.notification.v1.NotificationService/UpdatePreferences": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.review.v1.ReviewService/CreateReview": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.review.v1.ReviewService/ListReviews": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.review.v1.ReviewService/GetRatingSummary": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.review.v1.ReviewService/DeleteReview": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.search.v1.SearchService/Search": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.search.v1.SearchService/Suggest": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.analytics.v1.AnalyticsService/GetSalesSummary": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.analytics.v1.AnalyticsService/GetTopProducts": frozenset(
            {
                "gateway",
            }
        ),
        "/shop.analytics.v1.AnalyticsService/GetFunnel": frozenset(
            {
                "gateway",
            }
        ),
    }
)
