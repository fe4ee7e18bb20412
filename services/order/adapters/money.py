"""Money on the wire (units + nanos) <-> integer minor units inside the service."""

from __future__ import annotations

from shop.common.v1 import common_pb2

_NANOS_PER_UNIT = 1_000_000_000
# ISO 4217 currencies without the usual two decimals that a shop is likely to meet.
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3}


def minor_digits(currency: str) -> int:
    return _MINOR_DIGITS.get(currency, 2)


def _scale(currency: str) -> int:
    scale: int = 10 ** minor_digits(currency)
    return scale


def to_minor(money: common_pb2.Money) -> int:
    """ValueError when the amount is negative or finer than the currency's minor unit."""
    scale = _scale(money.currency_code)
    step = _NANOS_PER_UNIT // scale
    if money.units < 0 or money.nanos < 0 or money.nanos % step:
        raise ValueError(
            f"{money.units}.{money.nanos:09d} is not a whole {money.currency_code} amount"
        )
    return money.units * scale + money.nanos // step


def from_minor(currency: str, amount: int) -> common_pb2.Money:
    scale = _scale(currency)
    units, minor = divmod(amount, scale)
    return common_pb2.Money(
        currency_code=currency, units=units, nanos=minor * (_NANOS_PER_UNIT // scale)
    )
