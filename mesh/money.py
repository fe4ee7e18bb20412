"""Between `shop.common.v1.Money` (units + nanos) and integer minor units of its currency."""

from __future__ import annotations

from typing import Final, NamedTuple

from shop.common.v1 import common_pb2

from mesh.errors import FieldViolation, InvalidArgumentError

__all__ = [
    "MAX_MINOR_UNITS",
    "MinorUnits",
    "from_minor_units",
    "minor_unit_digits",
    "to_minor_units",
]

_NANOS_PER_UNIT: Final = 1_000_000_000
# The largest amount the stores hold, in minor units (a signed 64-bit integer).
MAX_MINOR_UNITS: Final = 2**63 - 1
# ISO 4217 currencies whose minor unit is not the cent; every other one has two decimals.
_DIGITS: Final = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


class MinorUnits(NamedTuple):
    currency: str
    amount: int


def minor_unit_digits(currency: str) -> int:
    return _DIGITS.get(currency, 2)


def to_minor_units(money: common_pb2.Money, field: str) -> MinorUnits:
    """12.99 USD -> ("USD", 1299); INVALID_ARGUMENT on `field` for sub-minor-unit nanos."""
    digits = minor_unit_digits(money.currency_code)
    step = _NANOS_PER_UNIT // 10**digits
    if money.nanos % step or money.nanos < 0 or money.units < 0:
        raise InvalidArgumentError(
            "invalid amount",
            violations=[
                FieldViolation(
                    field,
                    f"must be a non-negative {money.currency_code} amount in whole minor units",
                )
            ],
        )
    amount = money.units * 10**digits + money.nanos // step
    if amount > MAX_MINOR_UNITS:
        # Stores keep amounts as 64-bit integers (PostgreSQL BIGINT, BSON int64).
        raise InvalidArgumentError(
            "invalid amount",
            violations=[FieldViolation(field, "is too large for an amount")],
        )
    return MinorUnits(money.currency_code, amount)


def from_minor_units(currency: str, amount: int) -> common_pb2.Money:
    scale = 10 ** minor_unit_digits(currency)
    units, minor = divmod(amount, scale)
    return common_pb2.Money(
        currency_code=currency, units=units, nanos=minor * (_NANOS_PER_UNIT // scale)
    )
