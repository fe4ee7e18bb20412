"""Date ranges and the figures reported over them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from mesh.errors import FieldViolation, InvalidArgumentError

DEFAULT_DAYS: Final = 30
MAX_DAYS: Final = 366
DEFAULT_CURRENCY: Final = "USD"
DEFAULT_TOP_PRODUCTS: Final = 10


@dataclass(frozen=True, slots=True)
class DateRange:
    """Calendar days in UTC, both ends included."""

    start: date
    end: date

    @classmethod
    def parse(cls, start: str, end: str, today: date) -> DateRange:
        last = _parse_day(end, "end_date") if end else today
        first = _parse_day(start, "start_date") if start else last - timedelta(DEFAULT_DAYS - 1)
        if first > last:
            raise InvalidArgumentError(
                "the range ends before it starts",
                violations=[FieldViolation("start_date", "must not be after end_date")],
            )
        if (last - first).days + 1 > MAX_DAYS:
            raise InvalidArgumentError(
                "the range is too long",
                violations=[
                    FieldViolation("start_date", f"the range may span at most {MAX_DAYS} days")
                ],
            )
        return cls(first, last)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        """Exclusive upper bound: midnight after the last day."""
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def _parse_day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgumentError(
            "invalid date", violations=[FieldViolation(field, "must be a calendar day YYYY-MM-DD")]
        ) from None


class TopMetric(StrEnum):
    REVENUE = "revenue"
    UNITS = "units"


@dataclass(frozen=True, slots=True)
class DaySales:
    day: date
    order_count: int
    revenue: int  # minor units

    @property
    def average_order_value(self) -> int:
        return average(self.revenue, self.order_count)


@dataclass(frozen=True, slots=True)
class SalesSummary:
    range: DateRange
    currency: str
    days: list[DaySales]

    @property
    def order_count(self) -> int:
        return sum(day.order_count for day in self.days)

    @property
    def revenue(self) -> int:
        return sum(day.revenue for day in self.days)

    @property
    def average_order_value(self) -> int:
        return average(self.revenue, self.order_count)


def sales_summary(
    period: DateRange, currency: str, by_day: Mapping[date, tuple[int, int]]
) -> SalesSummary:
    """Every day of the range, oldest first; days without orders are zero."""
    days = [DaySales(day, *by_day.get(day, (0, 0))) for day in period.days()]
    return SalesSummary(period, currency, days)


@dataclass(frozen=True, slots=True)
class ProductSales:
    product_id: str
    name: str
    units: int
    revenue: int  # minor units


@dataclass(frozen=True, slots=True)
class Funnel:
    range: DateRange
    cart_adds: int
    checkouts_started: int
    orders_paid: int

    @property
    def cart_to_checkout_rate(self) -> float:
        return rate(self.checkouts_started, self.cart_adds)

    @property
    def checkout_to_paid_rate(self) -> float:
        return rate(self.orders_paid, self.checkouts_started)


def average(total: int, count: int) -> int:
    """Rounded half up to the minor unit; 0 without orders."""
    if count == 0:
        return 0
    return (2 * total + count) // (2 * count)


def rate(part: int, whole: int) -> float:
    return min(1.0, part / whole) if whole else 0.0
