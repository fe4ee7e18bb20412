"""Between google.type.Money (units + nanos) and integer minor units of the currency."""

from __future__ import annotations

from shop.common.v1 import common_pb2

from mesh.errors import FieldViolation, InvalidArgumentError

_NANOS_PER_UNIT = 1_000_000_000
# ISO 4217 currencies whose minor unit is not the cent; everything else has two decimals.
_DECIMALS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def decimals(currency: str) -> int:
    return _DECIMALS.get(currency, 2)


def to_minor(money: common_pb2.Money, field: str) -> int:
    step = _NANOS_PER_UNIT // 10 ** decimals(money.currency_code)
    if money.nanos % step:
        raise InvalidArgumentError(
            violations=[
                FieldViolation(
                    field, f"{money.currency_code} has no amounts finer than its minor unit"
                )
            ]
        )
    return int(money.units * 10 ** decimals(money.currency_code) + money.nanos // step)


def from_minor(amount: int, currency: str) -> common_pb2.Money:
    scale = 10 ** decimals(currency)
    units, minor = divmod(amount, scale)
    return common_pb2.Money(
        currency_code=currency, units=units, nanos=minor * (_NANOS_PER_UNIT // scale)
    )
