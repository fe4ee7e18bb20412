"""The analytics use cases: recording each event's fact once, and the reports staff ask for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import partial

from mesh import rbac
from mesh.auth import Identity, require_permission
from mesh.events import ProcessedEvents

from ..domain.facts import Fact
from ..domain.reports import (
    DEFAULT_CURRENCY,
    DEFAULT_TOP_PRODUCTS,
    DateRange,
    Funnel,
    ProductSales,
    SalesSummary,
    TopMetric,
    sales_summary,
)
from .ports import AnalyticsStore, FactMetrics

Today = Callable[[], date]
# Every report is for staff: admin and customer-service hold it.
REPORTS_PERMISSION = rbac.ORDERS_READ


class Analytics:
    def __init__(
        self,
        store: AnalyticsStore,
        processed: ProcessedEvents,
        metrics: FactMetrics,
        today: Today,
        *,
        consumer: str = "analytics",
    ) -> None:
        self._store = store
        self._processed = processed
        self._metrics = metrics
        self._today = today
        self._consumer = consumer

    async def record(self, fact: Fact, event_id: str, occurred_at: datetime) -> None:
        """Records the fact and the event's processed mark in one transaction, then counts
        it in the metrics: only after the commit, so a duplicate or a rollback never counts."""
        await self.record_many([(fact, event_id, occurred_at)])

    async def record_many(self, facts: Sequence[tuple[Fact, str, datetime]]) -> None:
        """Records each (fact, event id, time) in order with its processed mark, in one
        transaction: all of them take effect, or none (then they can be recorded one by one).
        Each one that took effect is counted in the metrics after the commit."""
        applied = await self._processed.process_many_once(
            self._consumer,
            [
                (event_id, partial(self._store.apply, fact, event_id, occurred_at))
                for fact, event_id, occurred_at in facts
            ],
        )
        for (fact, _, _), counted in zip(facts, applied, strict=True):
            if counted:
                self._metrics.observe(fact)

    async def sales_summary(
        self, caller: Identity, start: str, end: str, currency: str
    ) -> SalesSummary:
        _require_staff(caller)
        period = DateRange.parse(start, end, self._today())
        currency = currency or DEFAULT_CURRENCY
        return sales_summary(period, currency, await self._store.sales_by_day(period, currency))

    async def top_products(
        self, caller: Identity, start: str, end: str, currency: str, metric: TopMetric, limit: int
    ) -> tuple[str, list[ProductSales]]:
        _require_staff(caller)
        period = DateRange.parse(start, end, self._today())
        currency = currency or DEFAULT_CURRENCY
        products = await self._store.top_products(
            period, currency, metric, limit or DEFAULT_TOP_PRODUCTS
        )
        return currency, products

    async def funnel(self, caller: Identity, start: str, end: str) -> Funnel:
        _require_staff(caller)
        period = DateRange.parse(start, end, self._today())
        return Funnel(period, *await self._store.funnel_counts(period))


def _require_staff(caller: Identity) -> None:
    require_permission(REPORTS_PERMISSION, caller)
