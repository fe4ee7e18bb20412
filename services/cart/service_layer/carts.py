"""Cart use cases: who may do what, limits and stock checked, writes atomic in the store."""

from __future__ import annotations

from collections.abc import Mapping

from mesh import rbac
from mesh.auth import Identity, require_self_or_permission
from mesh.errors import PermissionDeniedError

from ..domain.limits import check_can_add
from ..domain.model import CartEvent, CartLine, Money, PricedCart, ProductInfo
from ..domain.pricing import price_cart, unique_ids
from .ports import CartStore, ProductCatalog


class CartService:
    def __init__(self, store: CartStore, catalog: ProductCatalog, default_currency: str) -> None:
        self._store = store
        self._catalog = catalog
        self._default_currency = default_currency

    async def get_cart(self, caller: Identity, user_id: str) -> PricedCart:
        # The owner, staff who read orders, and the order service at checkout.
        require_self_or_permission(user_id, rbac.ORDERS_READ, caller)
        return await self._priced(user_id)

    async def add_item(
        self, caller: Identity, user_id: str, product_id: str, quantity: int
    ) -> PricedCart:
        _require_owner(caller, user_id)
        product = check_can_add(await self._catalog.get(product_id), product_id, quantity)
        await self._store.add(
            user_id,
            CartLine(product_id, quantity, product.name, product.unit_price),
            inventory=product.inventory,
            event=CartEvent.item_added(user_id, product_id, product.unit_price),
        )
        return await self._priced(user_id, fetched={product_id: product})

    async def update_quantity(
        self, caller: Identity, user_id: str, product_id: str, quantity: int
    ) -> PricedCart:
        _require_owner(caller, user_id)
        product = await self._catalog.get(product_id)
        known = (await self._store.get(user_id)).line(product_id)
        # A gone product keeps its last known name and price; it can only be lowered.
        name = product.name if product else (known.name if known else "")
        price = product.unit_price if product else (known.unit_price if known else None)
        price = price or Money(0, self._default_currency)
        await self._store.set_quantity(
            user_id,
            CartLine(product_id, quantity, name, price),
            inventory=product.inventory if product else 0,
            added=CartEvent.item_added(user_id, product_id, price),
            removed=CartEvent.item_removed(user_id, product_id, price),
        )
        return await self._priced(user_id, fetched={product_id: product} if product else {})

    async def remove_item(self, caller: Identity, user_id: str, product_id: str) -> PricedCart:
        _require_owner(caller, user_id)
        line = (await self._store.get(user_id)).line(product_id)
        if line is not None:
            event = CartEvent.item_removed(user_id, product_id, line.unit_price)
            await self._store.remove(user_id, product_id, event=event)
        return await self._priced(user_id)

    async def clear_cart(self, caller: Identity, user_id: str) -> None:
        # The owner, or the order service after checkout (also in its crash recovery).
        require_self_or_permission(user_id, rbac.ORDERS_WRITE, caller)
        await self._store.clear(user_id)

    async def _priced(
        self, user_id: str, fetched: Mapping[str, ProductInfo] | None = None
    ) -> PricedCart:
        """The cart at current prices. `fetched`: products this request has just read from the
        catalog (the one being added), not asked for again; a cart holding only that product
        is priced without another catalog call."""
        cart = await self._store.get(user_id)
        products = dict(fetched or {})
        missing = [pid for pid in unique_ids(cart.lines) if pid not in products]
        if missing:
            products.update(await self._catalog.get_many(missing))
        return price_cart(cart, products, self._default_currency)


def _require_owner(caller: Identity, user_id: str) -> None:
    """Only the user changes their cart: not staff, not services."""
    if caller.subject != user_id:
        raise PermissionDeniedError("only the cart's owner may change it", reason="NOT_OWNER")
