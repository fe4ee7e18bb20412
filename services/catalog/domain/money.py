"""Prices as integer minor units of a currency, never floats."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Money:
    """`minor` units (cents for USD) of `currency`; `mesh.money` converts to and from protos."""

    minor: int
    currency: str
