"""What an event tells analytics, in plain values (amounts in minor units)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Line:
    product_id: str
    name: str
    quantity: int
    line_total: int


@dataclass(frozen=True, slots=True)
class OrderRecord:
    order_id: str
    user_id: str
    currency: str
    total: int
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class CheckoutStarted:
    order: OrderRecord


@dataclass(frozen=True, slots=True)
class OrderPaid:
    order: OrderRecord


@dataclass(frozen=True, slots=True)
class OrderPaymentFailed:
    order: OrderRecord


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    order: OrderRecord


@dataclass(frozen=True, slots=True)
class CartAdd:
    user_id: str
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class PaymentSettled:
    payment_id: str
    order_id: str
    outcome: Literal["succeeded", "failed"]
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class PaymentRefunded:
    payment_id: str
    order_id: str
    currency: str
    refund: int
    # Everything refunded on the payment so far: applying it is idempotent by nature.
    refunded_total: int


@dataclass(frozen=True, slots=True)
class ProductChanged:
    product_id: str
    name: str
    category: str
    version: int
    deleted: bool = False


Fact = (
    CheckoutStarted
    | OrderPaid
    | OrderPaymentFailed
    | OrderCancelled
    | CartAdd
    | PaymentSettled
    | PaymentRefunded
    | ProductChanged
)
