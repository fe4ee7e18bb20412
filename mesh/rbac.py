"""Roles and their permissions (from the seed's RBAC configuration), in one place."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

__all__ = [
    "ADMIN",
    "CUSTOMER",
    "CUSTOMER_SERVICE",
    "INVENTORY_MANAGER",
    "ORDERS_CANCEL",
    "ORDERS_READ",
    "ORDERS_WRITE",
    "PRODUCTS_READ",
    "PRODUCTS_WRITE",
    "ROLE_PERMISSIONS",
    "SERVICE",
    "USERS_READ",
    "USERS_WRITE",
    "permissions_for",
]

USERS_READ: Final = "users:read"
USERS_WRITE: Final = "users:write"
PRODUCTS_READ: Final = "products:read"
PRODUCTS_WRITE: Final = "products:write"
ORDERS_READ: Final = "orders:read"
ORDERS_WRITE: Final = "orders:write"
# Not in the seed: cancelling (and so refunding) an order is what a customer-service desk is
# for, yet the seed gives that role only orders:read, and orders:write would also let it place
# and clear carts for anyone. One narrow permission grants exactly the cancel.
ORDERS_CANCEL: Final = "orders:cancel"

CUSTOMER: Final = "customer"
ADMIN: Final = "admin"
CUSTOMER_SERVICE: Final = "customer-service"
INVENTORY_MANAGER: Final = "inventory-manager"
# Role of service tokens (UserService.IssueServiceToken), used by background work.
SERVICE: Final = "service"

ROLE_PERMISSIONS: Final[Mapping[str, frozenset[str]]] = {
    ADMIN: frozenset(
        {
            USERS_READ,
            USERS_WRITE,
            PRODUCTS_READ,
            PRODUCTS_WRITE,
            ORDERS_READ,
            ORDERS_WRITE,
            ORDERS_CANCEL,
        }
    ),
    CUSTOMER_SERVICE: frozenset({USERS_READ, ORDERS_READ, ORDERS_CANCEL, PRODUCTS_READ}),
    INVENTORY_MANAGER: frozenset({PRODUCTS_READ, PRODUCTS_WRITE}),
    # Customers reach only their own data, checked by owner rules, not permissions.
    CUSTOMER: frozenset(),
    # Which methods a service token may call is decided by the `service`/`internal` access
    # flags; these permissions let it pass the handlers' owner-or-permission checks there.
    SERVICE: frozenset({USERS_READ, PRODUCTS_READ, PRODUCTS_WRITE, ORDERS_READ, ORDERS_WRITE}),
}


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    """Union of the permissions of `roles`; unknown roles grant nothing."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)
