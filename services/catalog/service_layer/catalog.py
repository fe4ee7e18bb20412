"""Catalog use cases: every change goes through the store's change ledger.

Reads are public. Changing products needs `products:write`; moving stock for orders needs
the order service's own token or `products:write` (staff). The use cases receive the caller
and decide; the servicer only passes it on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mesh import rbac
from mesh.auth.identity import Identity, require_permission
from mesh.clock import Clock, utc_now_ms
from mesh.errors import (
    FailedPreconditionError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionViolation,
)

from ..domain import model
from ..domain.changes import ChangeKind, ProductChange, release_key, reserve_key, version_key
from ..domain.model import Category, Product, ProductDraft, RatingSummary
from ..domain.pagination import PageCursor
from ..domain.reservations import Reservation, StockLine
from .ports import CatalogStore

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Page:
    products: list[Product]
    next_page_token: str
    total_size: int


@dataclass(frozen=True, slots=True)
class ReservedLine:
    product_id: str
    quantity: int
    remaining_inventory: int
    version: int


class CatalogService:
    def __init__(
        self,
        store: CatalogStore,
        clock: Clock = utc_now_ms,
        ids: Callable[[], str] = new_id,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids

    # --- reads -----------------------------------------------------------------------------

    async def get_product(self, product_id: str) -> Product:
        product = await self._store.get(product_id)
        if product is None:
            raise _not_found(product_id)
        return product

    async def batch_get(self, product_ids: Sequence[str]) -> tuple[list[Product], list[str]]:
        found = await self._store.get_many(product_ids)
        return (
            [found[pid] for pid in product_ids if pid in found],
            [pid for pid in product_ids if pid not in found],
        )

    async def list_products(self, category: str, page_size: int, page_token: str) -> Page:
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = PageCursor.decode(page_token, category) if page_token else None
        products = await self._store.list_page(category, after, limit + 1)
        total = await self._store.count(category)
        next_token = ""
        if len(products) > limit:
            products = products[:limit]
            last = products[-1]
            next_token = PageCursor(last.created_at, last.id, category).encode()
        return Page(products, next_token, total)

    async def list_categories(self) -> list[Category]:
        return await self._store.list_categories()

    # --- staff changes -----------------------------------------------------------------------

    async def create_product(self, caller: Identity, draft: ProductDraft) -> Product:
        _require_staff(caller)
        product = model.create_product(self._ids(), draft, self._clock())

        def decide(current: Product | None) -> ProductChange:
            return self._change(product, ChangeKind.CREATED, version_key(product.id, 1))

        change = await self._store.commit(product.id, decide)
        assert change is not None and change.product is not None
        return change.product

    async def update_product(
        self,
        caller: Identity,
        product_id: str,
        values: ProductDraft,
        fields: frozenset[str],
        expected_version: int,
    ) -> Product:
        _require_staff(caller)

        def decide(current: Product | None) -> ProductChange:
            if current is None:
                raise _not_found(product_id)
            updated = model.update_product(current, values, fields, self._clock(), expected_version)
            op_key = version_key(product_id, updated.version)
            if fields == {"inventory"}:
                delta = updated.inventory - current.inventory
                return self._change(updated, ChangeKind.STOCK_ADJUSTED, op_key, quantity=delta)
            return self._change(
                updated, ChangeKind.UPDATED, op_key, update_mask=tuple(sorted(fields))
            )

        change = await self._store.commit(product_id, decide)
        assert change is not None and change.product is not None
        return change.product

    async def delete_product(self, caller: Identity, product_id: str) -> None:
        _require_staff(caller)

        def decide(current: Product | None) -> ProductChange:
            if current is None:
                raise _not_found(product_id)
            version = current.version + 1
            return ProductChange(
                product_id=product_id,
                version=version,
                kind=ChangeKind.DELETED,
                product=None,
                op_key=version_key(product_id, version),
                event_id=str(uuid.uuid4()),
                occurred_at=self._clock(),
            )

        await self._store.commit(product_id, decide)

    async def apply_rating(self, product_id: str, summary: RatingSummary) -> None:
        """Keeps the review service's rating figures; older or repeated summaries change nothing."""

        def decide(current: Product | None) -> ProductChange | None:
            rated = model.rate(current, summary, self._clock()) if current else None
            if rated is None:
                return None
            mask = ("rating_average", "rating_count")
            return self._change(
                rated, ChangeKind.UPDATED, version_key(product_id, rated.version), update_mask=mask
            )

        await self._store.commit(product_id, decide)

    # --- stock for orders --------------------------------------------------------------------

    async def reserve_stock(
        self, caller: Identity, order_id: str, lines: Sequence[StockLine]
    ) -> list[ReservedLine]:
        """All lines or none; repeating it for the same order returns the same reservation."""
        _require_stock_mover(caller)
        wanted = tuple(lines)
        stored = await self._store.add_reservation(Reservation.of(order_id, wanted, self._clock()))
        stored.check_repeat(wanted)
        reserved: list[ReservedLine] = []
        refusals: list[FailedPreconditionError] = []
        for line in stored.lines:
            try:
                reserved.append(await self._reserve_line(order_id, line))
            except FailedPreconditionError as refusal:
                refusals.append(refusal)
                break
        if refusals:
            await self._release_lines(order_id, stored.lines)
            raise _rejected(order_id, refusals)
        by_product = {line.product_id: line for line in reserved}
        return [by_product[line.product_id] for line in wanted]

    async def release_stock(self, caller: Identity, order_id: str) -> bool:
        """Puts back what the order holds; True when this call put anything back."""
        _require_stock_mover(caller)
        stored = await self._store.add_reservation(Reservation.tombstone(order_id, self._clock()))
        return await self._release_lines(order_id, stored.lines)

    async def _reserve_line(self, order_id: str, line: StockLine) -> ReservedLine:
        taken_key = reserve_key(order_id, line.product_id)
        built: list[str] = []

        def decide(current: Product | None) -> ProductChange:
            if current is None:
                raise _unavailable(line.product_id)
            after = model.reserve(current, line.quantity, self._clock())
            change = self._change(
                after,
                ChangeKind.STOCK_RESERVED,
                taken_key,
                order_id=order_id,
                quantity=line.quantity,
            )
            built.append(change.event_id)
            return change

        # The op key is unique: a repeat gets the first call's change back instead of taking
        # stock again, so a first call reads nothing of the product's history.
        change = await self._store.commit(line.product_id, decide, op_key=taken_key)
        if change is None or change.kind is not ChangeKind.STOCK_RESERVED:
            raise _released(order_id)
        if change.event_id not in built:
            # A repeat of an earlier call: the line may have been released since.
            back_key = release_key(order_id, line.product_id)
            if back_key in await self._store.find_changes([back_key]):
                raise _released(order_id)
        assert change.product is not None
        return ReservedLine(
            line.product_id, change.quantity, change.product.inventory, change.product.version
        )

    async def _release_lines(self, order_id: str, lines: Sequence[StockLine]) -> bool:
        released = False
        for line in lines:
            released |= await self._release_line(order_id, line.product_id)
        return released

    async def _release_line(self, order_id: str, product_id: str) -> bool:
        taken_key, back_key = reserve_key(order_id, product_id), release_key(order_id, product_id)
        while True:
            prior = await self._store.find_changes([taken_key, back_key])
            taken = prior.get(taken_key)
            if back_key in prior or (taken and taken.kind is ChangeKind.RESERVATION_VOIDED):
                return False
            if taken is None:
                # Nothing taken yet: void the line so a late or concurrent reserve cannot take it.
                voided = await self._store.void(self._void(order_id, product_id, taken_key))
                if voided.kind is ChangeKind.RESERVATION_VOIDED:
                    return False
                continue  # a reserve won the race; put its units back
            return await self._put_back(order_id, product_id, taken.quantity)

    async def _put_back(self, order_id: str, product_id: str, quantity: int) -> bool:
        made: list[ProductChange] = []

        def decide(current: Product | None) -> ProductChange | None:
            if current is None:
                return None  # the product is gone; there is nothing to put back
            after = model.restock(current, quantity, self._clock())
            made.append(
                self._change(
                    after,
                    ChangeKind.STOCK_RELEASED,
                    release_key(order_id, product_id),
                    order_id=order_id,
                    quantity=quantity,
                )
            )
            return made[-1]

        change = await self._store.commit(
            product_id, decide, op_key=release_key(order_id, product_id)
        )
        return change is not None and any(change.event_id == m.event_id for m in made)

    # --- building changes ---------------------------------------------------------------------

    def _change(
        self,
        product: Product,
        kind: ChangeKind,
        op_key: str,
        *,
        order_id: str = "",
        quantity: int = 0,
        update_mask: tuple[str, ...] = (),
    ) -> ProductChange:
        return ProductChange(
            product_id=product.id,
            version=product.version,
            kind=kind,
            product=product,
            op_key=op_key,
            event_id=str(uuid.uuid4()),
            occurred_at=product.updated_at,
            order_id=order_id,
            quantity=quantity,
            update_mask=update_mask,
        )

    def _void(self, order_id: str, product_id: str, op_key: str) -> ProductChange:
        return ProductChange(
            product_id=product_id,
            version=0,
            kind=ChangeKind.RESERVATION_VOIDED,
            product=None,
            op_key=op_key,
            event_id=str(uuid.uuid4()),
            occurred_at=self._clock(),
            order_id=order_id,
        )


def _require_staff(caller: Identity) -> None:
    require_permission(rbac.PRODUCTS_WRITE, caller)


def _require_stock_mover(caller: Identity) -> None:
    """Stock moves for orders: the order service's token, or staff who manage products."""
    if not (caller.is_service or caller.has_permission(rbac.PRODUCTS_WRITE)):
        raise PermissionDeniedError(
            "only the order service or product staff may move stock", reason="NOT_INTERNAL_CALLER"
        )


def _not_found(product_id: str) -> NotFoundError:
    return NotFoundError(
        f"product {product_id} not found",
        resource_type="shop.catalog.v1.Product",
        resource_name=f"products/{product_id}",
    )


def _released(order_id: str) -> FailedPreconditionError:
    return FailedPreconditionError(
        f"the stock of order {order_id} was released; it cannot be reserved again",
        reason="RESERVATION_RELEASED",
    )


def _unavailable(product_id: str) -> FailedPreconditionError:
    return FailedPreconditionError(
        f"product {product_id} does not exist",
        reason="PRODUCT_NOT_FOUND",
        violations=[
            PreconditionViolation("PRODUCT", f"products/{product_id}", "product does not exist")
        ],
    )


def _rejected(order_id: str, refusals: list[FailedPreconditionError]) -> FailedPreconditionError:
    first = refusals[0]
    return FailedPreconditionError(
        f"stock for order {order_id} not reserved: {first.message}",
        reason=first.reason,
        violations=[v for refusal in refusals for v in refusal.violations],
    )
