"""An in-memory CatalogStore with the same contract as the MongoDB one."""

from __future__ import annotations

from collections.abc import Sequence

from services.catalog.domain.changes import ProductChange
from services.catalog.domain.model import Category, Product, category_display_name
from services.catalog.domain.pagination import PageCursor
from services.catalog.domain.reservations import Reservation
from services.catalog.service_layer.ports import CatalogStore, Decide


class FakeCatalogStore(CatalogStore):
    def __init__(self) -> None:
        self.products: dict[str, Product] = {}
        self.changes: list[ProductChange] = []
        self.reservations: dict[str, Reservation] = {}

    async def get(self, product_id: str) -> Product | None:
        return self.products.get(product_id)

    async def get_many(self, product_ids: Sequence[str]) -> dict[str, Product]:
        return {pid: self.products[pid] for pid in product_ids if pid in self.products}

    async def list_page(self, category: str, after: PageCursor | None, limit: int) -> list[Product]:
        matching = sorted(self._in(category), key=lambda p: (p.created_at, p.id))
        if after is not None:
            matching = [
                p for p in matching if (p.created_at, p.id) > (after.created_at, after.product_id)
            ]
        return matching[:limit]

    async def count(self, category: str) -> int:
        return len(self._in(category))

    async def list_categories(self) -> list[Category]:
        names = sorted({p.category for p in self.products.values()})
        return [
            Category(
                name,
                category_display_name(name),
                sum(p.category == name for p in self.products.values()),
            )
            for name in names
        ]

    async def commit(
        self, product_id: str, decide: Decide, op_key: str | None = None
    ) -> ProductChange | None:
        if op_key and (earlier := self._by_op_key(op_key)):
            return earlier
        change = decide(self.products.get(product_id))
        if change is None:
            return None
        earlier = self._by_op_key(change.op_key)
        if earlier is not None:
            return earlier
        self.changes.append(change)
        if change.product is None:
            self.products.pop(product_id, None)
        else:
            self.products[product_id] = change.product
        return change

    async def void(self, change: ProductChange) -> ProductChange:
        earlier = self._by_op_key(change.op_key)
        if earlier is not None:
            return earlier
        self.changes.append(change)
        return change

    async def find_changes(self, op_keys: Sequence[str]) -> dict[str, ProductChange]:
        return {c.op_key: c for c in self.changes if c.op_key in op_keys}

    async def add_reservation(self, reservation: Reservation) -> Reservation:
        return self.reservations.setdefault(reservation.order_id, reservation)

    def _in(self, category: str) -> list[Product]:
        return [p for p in self.products.values() if not category or p.category == category]

    def _by_op_key(self, op_key: str) -> ProductChange | None:
        return next((c for c in self.changes if c.op_key == op_key), None)
