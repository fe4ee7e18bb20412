"""What the catalog's use cases need from the outside: its store (MongoDB in production, a
cache in front of it, an in-memory fake in unit tests)."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

from ..domain.changes import ProductChange
from ..domain.model import Category, Product
from ..domain.pagination import PageCursor
from ..domain.reservations import Reservation

# Turns a change into the serialized event stored with it (called in the request's context).
EncodeEvent = Callable[[ProductChange], bytes]

# Given the product as stored (None when it does not exist), returns the change to commit,
# None for nothing to do, or raises a domain error. May be called again after a conflict.
Decide = Callable[[Product | None], ProductChange | None]


class CatalogStore(abc.ABC):
    @abc.abstractmethod
    async def get(self, product_id: str) -> Product | None: ...

    @abc.abstractmethod
    async def get_many(self, product_ids: Sequence[str]) -> dict[str, Product]:
        """The products that exist among `product_ids`."""

    @abc.abstractmethod
    async def list_page(self, category: str, after: PageCursor | None, limit: int) -> list[Product]:
        """Up to `limit` products after `after` by (created_at, id); "" lists every category."""

    @abc.abstractmethod
    async def count(self, category: str) -> int:
        """How many products the category has ("" for all of them)."""

    @abc.abstractmethod
    async def list_categories(self) -> list[Category]: ...

    @abc.abstractmethod
    async def commit(
        self, product_id: str, decide: Decide, op_key: str | None = None
    ) -> ProductChange | None:
        """Applies `decide`'s change atomically: nobody else changed the product meanwhile.

        When a change with the same op key (`op_key`, or the one of the decided change) was
        committed before, returns that one instead, even if `decide` now raises. The change's
        event is recorded with it and published later.
        """

    @abc.abstractmethod
    async def void(self, change: ProductChange) -> ProductChange:
        """Records a RESERVATION_VOIDED change; returns the change already under its op key."""

    @abc.abstractmethod
    async def find_changes(self, op_keys: Sequence[str]) -> dict[str, ProductChange]: ...

    @abc.abstractmethod
    async def add_reservation(self, reservation: Reservation) -> Reservation:
        """Stores the reservation unless one exists for its order; returns the stored one."""
