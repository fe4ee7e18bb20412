"""An in-memory CatalogStore with the same contract as the MongoDB one."""

from __future__ import annotations

from collections.abc import Sequence

from services.catalog.adapters.repository import CatalogStore, Decide, EncodeEvent, OutboxEntry
from services.catalog.domain.changes import ProductChange
from services.catalog.domain.model import Category, Product, category_display_name
from services.catalog.domain.pagination import PageCursor
from services.catalog.domain.reservations import Reservation


class FakeCatalogStore(CatalogStore):
    def __init__(self, encode_event: EncodeEvent = lambda change: change.event_id.encode()) -> None:
        self._encode_event = encode_event
        self.products: dict[str, Product] = {}
        self.changes: list[ProductChange] = []
        self.published: set[str] = set()
        self.reservations: dict[str, Reservation] = {}

    async def get(self, product_id: str) -> Product | None:
        return self.products.get(product_id)

    async def get_many(self, product_ids: Sequence[str]) -> dict[str, Product]:
        return {pid: self.products[pid] for pid in product_ids if pid in self.products}

    async def list_page(
        self, category: str, after: PageCursor | None, limit: int
    ) -> tuple[list[Product], int]:
        matching = sorted(
            (p for p in self.products.values() if not category or p.category == category),
            key=lambda p: (p.created_at, p.id),
        )
        if after is not None:
            matching_after = [
                p for p in matching if (p.created_at, p.id) > (after.created_at, after.product_id)
            ]
        else:
            matching_after = matching
        return matching_after[:limit], len(matching)

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

    async def unpublished(self, limit: int) -> list[OutboxEntry]:
        pending = [
            c for c in self.changes if c.publishes_event and c.event_id not in self.published
        ]
        return [OutboxEntry(c.event_id, c.product_id, self._encode_event(c)) for c in pending][
            :limit
        ]

    async def mark_published(self, change_ids: Sequence[str]) -> None:
        self.published.update(change_ids)

    async def catch_up(self, product_id: str) -> None:
        return None

    def _by_op_key(self, op_key: str) -> ProductChange | None:
        return next((c for c in self.changes if c.op_key == op_key), None)
