"""The ports the cart use cases write against."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

from services.cart.domain import CartLine, ProductInfo, StoredCart


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """A serialized event whose aggregate version and quantity the store fills in."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    entry_id: str
    event: bytes
    version: int
    quantity: int


class CartStore(abc.ABC):
    @abc.abstractmethod
    async def get(self, user_id: str) -> StoredCart: ...

    @abc.abstractmethod
    async def add(
        self, user_id: str, line: CartLine, *, inventory: int, event: PendingEvent
    ) -> int:
        """Adds `line.quantity` units in one atomic step; returns the line's new quantity.

        Raises the domain's limit errors (units per line, lines per cart, stock) unchanged.
        """

    @abc.abstractmethod
    async def set_quantity(
        self,
        user_id: str,
        line: CartLine,
        *,
        inventory: int,
        added: PendingEvent,
        removed: PendingEvent,
    ) -> None:
        """Sets an existing line's quantity (NOT_FOUND when the cart has no such line)."""

    @abc.abstractmethod
    async def remove(self, user_id: str, product_id: str, *, event: PendingEvent) -> bool:
        """Removes a line; False when there was none."""

    @abc.abstractmethod
    async def clear(self, user_id: str) -> None: ...

    @abc.abstractmethod
    async def pending_events(self, limit: int) -> list[OutboxEntry]:
        """Events of committed writes not yet confirmed published, oldest first."""

    @abc.abstractmethod
    async def confirm_published(self, entry_ids: Sequence[str]) -> None: ...


class ProductCatalog(abc.ABC):
    @abc.abstractmethod
    async def get(self, product_id: str) -> ProductInfo | None: ...

    @abc.abstractmethod
    async def get_many(self, product_ids: Sequence[str]) -> dict[str, ProductInfo]:
        """The existing products among `product_ids`, in one call."""
