"""The port the catalog service layer writes against; MongoCatalogStore implements it."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.catalog.domain.changes import ProductChange
from services.catalog.domain.model import Category, Product
from services.catalog.domain.pagination import PageCursor
from services.catalog.domain.reservations import Reservation


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A committed change's event, waiting to be published."""

    change_id: str
    product_id: str
    event: bytes


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
        """The products that exist among `product_ids`, in one round trip."""

    @abc.abstractmethod
    async def list_page(
        self, category: str, after: PageCursor | None, limit: int
    ) -> tuple[list[Product], int]:
        """Up to `limit` products after `after` by (created_at, id), and the total count."""

    @abc.abstractmethod
    async def list_categories(self) -> list[Category]: ...

    @abc.abstractmethod
    async def commit(
        self, product_id: str, decide: Decide, op_key: str | None = None
    ) -> ProductChange | None:
        """Applies `decide`'s change atomically: nobody else changed the product meanwhile.

        When a change with the same op key (`op_key`, or the one of the decided change) was
        committed before, returns that one instead, even if `decide` now raises.
        """

    @abc.abstractmethod
    async def void(self, change: ProductChange) -> ProductChange:
        """Records a RESERVATION_VOIDED change; returns the change already under its op key."""

    @abc.abstractmethod
    async def find_changes(self, op_keys: Sequence[str]) -> dict[str, ProductChange]: ...

    @abc.abstractmethod
    async def add_reservation(self, reservation: Reservation) -> Reservation:
        """Stores the reservation unless one exists for its order; returns the stored one."""

    @abc.abstractmethod
    async def unpublished(self, limit: int) -> list[OutboxEntry]:
        """Events of committed changes not yet published, each product's in version order."""

    @abc.abstractmethod
    async def mark_published(self, change_ids: Sequence[str]) -> None: ...

    @abc.abstractmethod
    async def catch_up(self, product_id: str) -> None:
        """Brings the readable product up to its latest committed change."""
