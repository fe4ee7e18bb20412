"""The analytics use cases: projecting events once, and the reports staff ask for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date

from shop.events.v1 import events_pb2

from mesh.events import ProcessedEvents
from mesh.events.dedupe import Handle
from services.analytics.adapters.store import AnalyticsStore
from services.analytics.domain.facts import fact_of
from services.analytics.domain.metrics import BusinessMetrics
from services.analytics.domain.reports import (
    DEFAULT_CURRENCY,
    DEFAULT_TOP_PRODUCTS,
    DateRange,
    Funnel,
    ProductSales,
    SalesSummary,
    TopMetric,
    sales_summary,
)

Today = Callable[[], date]


class DedupedByHandler:
    """For the consumer: `Analytics.handle_event` marks each event itself (it must see the
    outcome to count metrics after the commit), so the consumer runs it for every record."""

    async def process_once(self, consumer: str, event_id: str, handle: Handle) -> bool:
        await handle()
        return True


class Analytics:
    def __init__(
        self,
        store: AnalyticsStore,
        processed: ProcessedEvents,
        metrics: BusinessMetrics,
        today: Today,
        *,
        consumer: str = "analytics",
    ) -> None:
        self._store = store
        self._processed = processed
        self._metrics = metrics
        self._today = today
        self._consumer = consumer

    async def handle_event(self, event: events_pb2.Event) -> None:
        """Records the event's fact and its processed mark in one transaction, then counts it
        in the metrics: only after the commit, so a duplicate or a rollback never counts."""
        fact = fact_of(event)
        if fact is None:
            return
        occurred_at = event.occurred_at.ToDatetime(tzinfo=UTC)
        applied = await self._processed.process_once(
            self._consumer,
            event.event_id,
            lambda: self._store.apply(fact, event.event_id, occurred_at),
        )
        if applied:
            self._metrics.observe(fact)

    async def sales_summary(self, start: str, end: str, currency: str) -> SalesSummary:
        period = DateRange.parse(start, end, self._today())
        currency = currency or DEFAULT_CURRENCY
        return sales_summary(period, currency, await self._store.sales_by_day(period, currency))

    async def top_products(
        self, start: str, end: str, currency: str, metric: TopMetric, limit: int
    ) -> tuple[str, list[ProductSales]]:
        period = DateRange.parse(start, end, self._today())
        currency = currency or DEFAULT_CURRENCY
        products = await self._store.top_products(
            period, currency, metric, limit or DEFAULT_TOP_PRODUCTS
        )
        return currency, products

    async def funnel(self, start: str, end: str) -> Funnel:
        period = DateRange.parse(start, end, self._today())
        return Funnel(period, *await self._store.funnel_counts(period))
