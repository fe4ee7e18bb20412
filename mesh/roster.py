"""The nine services: name, gRPC port and gRPC service, in the deployment's order.

`deploy/mesh/policy.yaml` is the source; service images do not contain deploy/, so the
runtime keeps this copy and a unit test fails when the two differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = ["ROSTER", "SERVICE_NAMES", "SERVICE_PORTS", "RosterEntry", "entry_of"]


@dataclass(frozen=True, slots=True)
class RosterEntry:
    name: str
    port: int
    grpc_service: str


ROSTER: Final[tuple[RosterEntry, ...]] = (
    RosterEntry("user", 50051, "shop.user.v1.UserService"),
    RosterEntry("catalog", 50052, "shop.catalog.v1.CatalogService"),
    RosterEntry("cart", 50053, "shop.cart.v1.CartService"),
    RosterEntry("order", 50054, "shop.order.v1.OrderService"),
    RosterEntry("payment", 50055, "shop.payment.v1.PaymentService"),
    RosterEntry("notification", 50056, "shop.notification.v1.NotificationService"),
    RosterEntry("review", 50057, "shop.review.v1.ReviewService"),
    RosterEntry("search", 50058, "shop.search.v1.SearchService"),
    RosterEntry("analytics", 50059, "shop.analytics.v1.AnalyticsService"),
)

SERVICE_NAMES: Final[tuple[str, ...]] = tuple(e.name for e in ROSTER)
# Default gRPC port of every service.
SERVICE_PORTS: Final[Mapping[str, int]] = MappingProxyType({e.name: e.port for e in ROSTER})


def entry_of(name: str) -> RosterEntry:
    for entry in ROSTER:
        if entry.name == name:
            return entry
    raise KeyError(f"no service named {name!r}; the services are {', '.join(SERVICE_NAMES)}")
