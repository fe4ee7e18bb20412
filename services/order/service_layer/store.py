"""The order store interface (PostgreSQL in production, an in-memory fake in unit tests)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from ..domain.idempotency import IdempotencyRecord
from ..domain.model import Order, OrderStatus, Transition


class StaleSagaState(Exception):
    """The order moved on since it was read (another runner did the step)."""


class IdempotencyConflict(Exception):
    """Another request created an order with the same user and key first."""

    def __init__(self, existing: IdempotencyRecord) -> None:
        super().__init__(f"idempotency key already used for order {existing.order_id}")
        self.existing = existing


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Position after the last order of a page (newest first)."""

    created_at: datetime
    order_id: str


@dataclass(frozen=True, slots=True)
class OrderQuery:
    user_id: str | None = None  # None: every user's orders
    status: OrderStatus | None = None


class OrderStore(abc.ABC):
    @abc.abstractmethod
    async def idempotency_record(self, user_id: str, key: str) -> IdempotencyRecord | None: ...

    @abc.abstractmethod
    async def create(self, order: Order, idempotency: IdempotencyRecord) -> None:
        """Insert the order and its key atomically; IdempotencyConflict when the key is taken."""

    @abc.abstractmethod
    async def get(self, order_id: str) -> Order | None: ...

    @abc.abstractmethod
    async def apply(self, transition: Transition) -> Order:
        """Persist the step and queue its events in one transaction; StaleSagaState if moved on."""

    @abc.abstractmethod
    async def list_orders(
        self, query: OrderQuery, limit: int, after: PageCursor | None
    ) -> Sequence[Order]:
        """Newest first, starting after the cursor."""

    @abc.abstractmethod
    async def count(self, query: OrderQuery) -> int: ...

    @abc.abstractmethod
    async def unfinished(self, updated_before: datetime, limit: int) -> Sequence[str]:
        """Ids of orders whose saga has not reached a final step, oldest first."""

    @abc.abstractmethod
    async def paid_order_with(self, user_id: str, product_id: str) -> str | None:
        """Id of a paid, not cancelled order of the user containing the product."""

    @abc.abstractmethod
    def saga_lock(self, order_id: str, *, wait: bool) -> AbstractAsyncContextManager[bool]:
        """Exclusive right to run this order's saga across processes; yields False if busy."""
