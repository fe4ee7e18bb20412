"""In-memory cart store and catalog with the contracts of the real adapters.

The store repeats the limits of the Redis store's Lua script so the use cases can be tested
without sockets; tests/integration/cart/test_cart_store.py holds the script itself to them.
"""

from __future__ import annotations

from collections.abc import Sequence

from mesh.errors import NotFoundError
from services.cart.adapters.events import OutboxEntry, envelope_bytes
from services.cart.domain import limits
from services.cart.domain.model import CartEvent, CartLine, ProductInfo, StoredCart
from services.cart.service_layer.ports import CartStore, ProductCatalog


class FakeCartStore(CartStore):
    def __init__(self) -> None:
        self.carts: dict[str, dict[str, CartLine]] = {}
        self.outbox: list[OutboxEntry] = []
        self.version = 0

    async def get(self, user_id: str) -> StoredCart:
        return StoredCart(user_id, tuple(self.carts.get(user_id, {}).values()), None, None)

    async def add(self, user_id: str, line: CartLine, *, inventory: int, event: CartEvent) -> int:
        cart = self.carts.setdefault(user_id, {})
        current = cart[line.product_id].quantity if line.product_id in cart else 0
        wanted = current + line.quantity
        if wanted > limits.MAX_QUANTITY:
            raise limits.line_limit_exceeded(line.product_id, current)
        if wanted > inventory:
            raise limits.insufficient_stock(line.product_id, inventory)
        if not current and len(cart) >= limits.MAX_LINES:
            raise limits.cart_full(line.product_id)
        cart[line.product_id] = CartLine(line.product_id, wanted, line.name, line.unit_price)
        self._record(event, line.quantity)
        return wanted

    async def set_quantity(
        self,
        user_id: str,
        line: CartLine,
        *,
        inventory: int,
        added: CartEvent,
        removed: CartEvent,
    ) -> None:
        cart = self.carts.get(user_id, {})
        if line.product_id not in cart:
            raise NotFoundError("no such line")
        current = cart[line.product_id].quantity
        if line.quantity > current and line.quantity > inventory:
            raise limits.insufficient_stock(line.product_id, inventory)
        cart[line.product_id] = line
        if line.quantity != current:
            grew = line.quantity > current
            self._record(added if grew else removed, abs(line.quantity - current))

    async def remove(self, user_id: str, product_id: str, *, event: CartEvent) -> bool:
        line = self.carts.get(user_id, {}).pop(product_id, None)
        if line is None:
            return False
        self._record(event, line.quantity)
        return True

    async def clear(self, user_id: str) -> None:
        self.carts.pop(user_id, None)

    async def pending_events(self, limit: int) -> list[OutboxEntry]:
        return self.outbox[:limit]

    async def confirm_published(self, entry_ids: Sequence[str]) -> None:
        self.outbox = [entry for entry in self.outbox if entry.entry_id not in entry_ids]

    def _record(self, event: CartEvent, quantity: int) -> None:
        self.version += 1
        payload = envelope_bytes(event)
        self.outbox.append(OutboxEntry(str(self.version), payload, self.version, quantity))


class FakeCatalog(ProductCatalog):
    def __init__(self, *products: ProductInfo) -> None:
        self.products = {product.id: product for product in products}
        self.asked: list[list[str]] = []  # the ids of every get_many, in order

    async def get(self, product_id: str) -> ProductInfo | None:
        return self.products.get(product_id)

    async def get_many(self, product_ids: Sequence[str]) -> dict[str, ProductInfo]:
        self.asked.append(list(product_ids))
        return {pid: self.products[pid] for pid in product_ids if pid in self.products}
