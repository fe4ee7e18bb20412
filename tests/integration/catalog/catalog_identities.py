"""Callers for tests that call the catalog's use cases directly."""

from __future__ import annotations

from mesh import rbac
from mesh.auth.identity import Identity

STAFF = Identity.from_claims("admin-1", frozenset({rbac.ADMIN}), "token")
ORDERS = Identity.from_claims("service:order", frozenset({rbac.SERVICE}), "token")
