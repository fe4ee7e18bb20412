"""Prices as integer minor units of a currency, never floats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

_NANOS_PER_UNIT: Final = 1_000_000_000
# ISO 4217 currencies whose minor unit is not the cent; everything else has two decimals.
_EXPONENTS: Final = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3}


class MoneyError(ValueError):
    """An amount that cannot be expressed in the currency's minor units."""


def minor_unit_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


@dataclass(frozen=True, slots=True)
class Money:
    """`minor` units (cents for USD) of `currency`."""

    minor: int
    currency: str

    @classmethod
    def from_units_nanos(cls, currency: str, units: int, nanos: int) -> Money:
        exponent = minor_unit_exponent(currency)
        nanos_per_minor = _NANOS_PER_UNIT // 10**exponent
        if nanos % nanos_per_minor:
            raise MoneyError(f"{currency} amounts have at most {exponent} decimals")
        return cls(units * 10**exponent + nanos // nanos_per_minor, currency)

    def units_nanos(self) -> tuple[int, int]:
        exponent = minor_unit_exponent(self.currency)
        units, minor = divmod(self.minor, 10**exponent)
        return units, minor * (_NANOS_PER_UNIT // 10**exponent)

    def times(self, quantity: int) -> Money:
        return Money(self.minor * quantity, self.currency)
