"""Order totals: the one place where subtotal, tax, shipping and total are computed.

All amounts are integers in the currency's minor unit (cents for USD); no floats anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mesh.errors import FailedPreconditionError, PreconditionViolation
from mesh.money import MAX_MINOR_UNITS

BASIS_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class PricingPolicy:
    """The shop's configurable pricing rules."""

    tax_rate_bps: int
    shipping_fee_minor: int
    free_shipping_threshold_minor: int

    def __post_init__(self) -> None:
        if not 0 <= self.tax_rate_bps <= BASIS_POINTS:
            raise ValueError("tax_rate_bps must be within 0..10000")
        if self.shipping_fee_minor < 0 or self.free_shipping_threshold_minor < 0:
            raise ValueError("shipping amounts must not be negative")


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    tax: int
    shipping: int

    @property
    def total(self) -> int:
        return self.subtotal + self.tax + self.shipping


def tax_on(amount_minor: int, rate_bps: int) -> int:
    """Tax rounded half up to the minor unit (the usual rule for sales tax)."""
    return (amount_minor * rate_bps + BASIS_POINTS // 2) // BASIS_POINTS


def shipping_for(subtotal_minor: int, policy: PricingPolicy) -> int:
    """Flat fee; free once the subtotal reaches the threshold."""
    if subtotal_minor >= policy.free_shipping_threshold_minor:
        return 0
    return policy.shipping_fee_minor


def price(line_totals: Iterable[int], policy: PricingPolicy) -> Totals:
    """Totals for an order whose lines cost `line_totals`; tax applies to goods, not shipping."""
    subtotal = sum(line_totals)
    if subtotal < 0:
        raise ValueError("an order cannot cost less than nothing")
    totals = Totals(
        subtotal=subtotal,
        tax=tax_on(subtotal, policy.tax_rate_bps),
        shipping=shipping_for(subtotal, policy),
    )
    # Lines are never negative: a total within the limit keeps every line and sum within it.
    if totals.total > MAX_MINOR_UNITS:
        raise FailedPreconditionError(
            "the order would cost more than the largest amount the shop can charge",
            reason="ORDER_TOTAL_TOO_LARGE",
            violations=[
                PreconditionViolation(
                    "TOTAL",
                    "order.total",
                    "unit prices times quantities, plus tax and shipping, exceed"
                    f" {MAX_MINOR_UNITS} minor units; lower a quantity in the cart",
                )
            ],
        )
    return totals
