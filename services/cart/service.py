"""Cart use cases: limits and stock checked against the catalog, writes atomic in the store."""

from __future__ import annotations

from services.cart import domain, events
from services.cart.adapters.repository import CartStore, ProductCatalog
from services.cart.domain import CartLine, PricedCart


class CartService:
    def __init__(self, store: CartStore, catalog: ProductCatalog, default_currency: str) -> None:
        self._store = store
        self._catalog = catalog
        self._default_currency = default_currency

    async def get_cart(self, user_id: str) -> PricedCart:
        cart = await self._store.get(user_id)
        products = await self._catalog.get_many(domain.unique_ids(cart.lines))
        return domain.price_cart(cart, products, self._default_currency)

    async def add_item(self, user_id: str, product_id: str, quantity: int) -> PricedCart:
        product = domain.check_can_add(await self._catalog.get(product_id), product_id, quantity)
        await self._store.add(
            user_id,
            CartLine(product_id, quantity, product.name, product.unit_price),
            inventory=product.inventory,
            event=events.item_added(user_id, product_id, product.unit_price),
        )
        return await self.get_cart(user_id)

    async def update_quantity(self, user_id: str, product_id: str, quantity: int) -> PricedCart:
        product = await self._catalog.get(product_id)
        cart = await self._store.get(user_id)
        known = next((line for line in cart.lines if line.product_id == product_id), None)
        # A gone product keeps its last known name and price; it can only be lowered.
        name = product.name if product else (known.name if known else "")
        price = product.unit_price if product else (known.unit_price if known else None)
        price = price or domain.Money(0, self._default_currency)
        await self._store.set_quantity(
            user_id,
            CartLine(product_id, quantity, name, price),
            inventory=product.inventory if product else 0,
            added=events.item_added(user_id, product_id, price),
            removed=events.item_removed(user_id, product_id, price),
        )
        return await self.get_cart(user_id)

    async def remove_item(self, user_id: str, product_id: str) -> PricedCart:
        cart = await self._store.get(user_id)
        line = next((line for line in cart.lines if line.product_id == product_id), None)
        if line is not None:
            event = events.item_removed(user_id, product_id, line.unit_price)
            await self._store.remove(user_id, product_id, event=event)
        return await self.get_cart(user_id)

    async def clear_cart(self, user_id: str) -> None:
        await self._store.clear(user_id)
