import pytest

from mesh.errors import FailedPreconditionError
from mesh.money import MAX_MINOR_UNITS
from services.order.domain.pricing import PricingPolicy, Totals, price, shipping_for, tax_on

POLICY = PricingPolicy(tax_rate_bps=825, shipping_fee_minor=499, free_shipping_threshold_minor=5000)


@pytest.mark.parametrize(
    ("amount", "bps", "tax"),
    [
        (1000, 825, 83),  # 82.5 rounds half up
        (1001, 825, 83),  # 82.58
        (999, 825, 82),  # 82.4175
        (0, 825, 0),
        (12_345_678, 0, 0),
        (100, 10_000, 100),
    ],
)
def test_tax_is_rounded_half_up_to_the_minor_unit(amount: int, bps: int, tax: int) -> None:
    assert tax_on(amount, bps) == tax


def test_shipping_is_free_from_the_threshold_on() -> None:
    assert shipping_for(4999, POLICY) == 499
    assert shipping_for(5000, POLICY) == 0
    assert shipping_for(0, POLICY) == 499


def test_price_adds_tax_on_goods_only_and_shipping() -> None:
    totals = price([1999, 2 * 1000], POLICY)
    assert totals == Totals(subtotal=3999, tax=330, shipping=499)
    assert totals.total == 3999 + 330 + 499


def test_totals_stay_exact_for_large_integer_amounts() -> None:
    totals = price([10**15 + 1], POLICY)
    assert totals.total == 10**15 + 1 + tax_on(10**15 + 1, 825)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tax_rate_bps": -1, "shipping_fee_minor": 0, "free_shipping_threshold_minor": 0},
        {"tax_rate_bps": 10_001, "shipping_fee_minor": 0, "free_shipping_threshold_minor": 0},
        {"tax_rate_bps": 0, "shipping_fee_minor": -5, "free_shipping_threshold_minor": 0},
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        PricingPolicy(**kwargs)


def test_an_order_beyond_the_largest_amount_is_refused_naming_the_total() -> None:
    """Stores keep amounts as 64-bit integers: a total past 2**63-1 must not reach them."""
    untaxed = PricingPolicy(tax_rate_bps=0, shipping_fee_minor=0, free_shipping_threshold_minor=0)
    assert price([MAX_MINOR_UNITS], untaxed).total == MAX_MINOR_UNITS
    with pytest.raises(FailedPreconditionError) as too_large:
        price([MAX_MINOR_UNITS, 1], untaxed)
    assert too_large.value.reason == "ORDER_TOTAL_TOO_LARGE"
    (violation,) = too_large.value.violations
    assert violation.subject == "order.total"
    # Tax alone can take a line that fits past the limit.
    with pytest.raises(FailedPreconditionError):
        price([MAX_MINOR_UNITS - 10], POLICY)
