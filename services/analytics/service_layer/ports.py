"""What the analytics use cases need: the store of facts, and the business metrics."""

from __future__ import annotations

import abc
from datetime import date, datetime

from ..domain.facts import Fact
from ..domain.reports import DateRange, ProductSales, TopMetric


class AnalyticsStore(abc.ABC):
    """What analytics keeps and the questions it answers."""

    @abc.abstractmethod
    async def apply(self, fact: Fact, event_id: str, occurred_at: datetime) -> None:
        """Records `fact` in the transaction of the event being handled."""

    @abc.abstractmethod
    async def sales_by_day(self, period: DateRange, currency: str) -> dict[date, tuple[int, int]]:
        """(paid orders, revenue net of refunds) per UTC day; cancelled orders left out."""

    @abc.abstractmethod
    async def top_products(
        self, period: DateRange, currency: str, metric: TopMetric, limit: int
    ) -> list[ProductSales]: ...

    @abc.abstractmethod
    async def funnel_counts(self, period: DateRange) -> tuple[int, int, int]:
        """(cart adds, checkouts started, orders paid)."""


class FactMetrics(abc.ABC):
    @abc.abstractmethod
    def observe(self, fact: Fact) -> None:
        """Counts a fact that took effect (called once per event, after its commit)."""
