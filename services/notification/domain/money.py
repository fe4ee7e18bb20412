"""Amounts as shoppers read them: "1,234.50 USD"."""

from __future__ import annotations

from mesh.money import minor_unit_digits


def format_money(currency: str, minor_units: int) -> str:
    digits = minor_unit_digits(currency)
    sign = "-" if minor_units < 0 else ""
    whole, fraction = divmod(abs(minor_units), 10**digits)
    amount = f"{whole:,}" + (f".{fraction:0{digits}d}" if digits else "")
    return f"{sign}{amount} {currency}".strip()
