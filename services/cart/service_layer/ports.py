"""What the cart use cases need from the outside: the cart store and the catalog.

`adapters.redis_store` and `adapters.catalog` implement them; unit tests use fakes.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from ..domain.model import CartEvent, CartLine, ProductInfo, StoredCart


class CartStore(abc.ABC):
    """Carts, where every write is one atomic step that also records its event."""

    @abc.abstractmethod
    async def get(self, user_id: str) -> StoredCart: ...

    @abc.abstractmethod
    async def add(self, user_id: str, line: CartLine, *, inventory: int, event: CartEvent) -> int:
        """Adds `line.quantity` units in one atomic step; returns the line's new quantity.

        Raises the limit errors of `domain.limits` (units per line, lines per cart, stock),
        checked against the state the write changes.
        """

    @abc.abstractmethod
    async def set_quantity(
        self,
        user_id: str,
        line: CartLine,
        *,
        inventory: int,
        added: CartEvent,
        removed: CartEvent,
    ) -> None:
        """Sets an existing line's quantity (NOT_FOUND when the cart has no such line).

        Records `added` or `removed` with the difference in units, nothing when unchanged.
        """

    @abc.abstractmethod
    async def remove(self, user_id: str, product_id: str, *, event: CartEvent) -> bool:
        """Removes a line; False when there was none."""

    @abc.abstractmethod
    async def clear(self, user_id: str) -> None: ...


class ProductCatalog(abc.ABC):
    @abc.abstractmethod
    async def get(self, product_id: str) -> ProductInfo | None: ...

    @abc.abstractmethod
    async def get_many(self, product_ids: Sequence[str]) -> dict[str, ProductInfo]:
        """The existing products among `product_ids`, in one call."""
