"""Stock reservations of orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mesh.errors import FailedPreconditionError


@dataclass(frozen=True, slots=True)
class StockLine:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Reservation:
    """What an order asked for. Stored once per order id; a repeat must ask the same."""

    order_id: str
    lines: tuple[StockLine, ...]
    created_at: datetime

    @classmethod
    def of(cls, order_id: str, lines: tuple[StockLine, ...], at: datetime) -> Reservation:
        return cls(order_id, tuple(sorted(lines, key=lambda line: line.product_id)), at)

    @classmethod
    def tombstone(cls, order_id: str, at: datetime) -> Reservation:
        """Recorded when an order is released before it reserved anything: it never will."""
        return cls(order_id, (), at)

    @property
    def is_tombstone(self) -> bool:
        return not self.lines

    def check_repeat(self, lines: tuple[StockLine, ...]) -> None:
        if self.is_tombstone:
            raise FailedPreconditionError(
                f"the stock of order {self.order_id} was released; it cannot be reserved again",
                reason="RESERVATION_RELEASED",
            )
        if tuple(sorted(lines, key=lambda line: line.product_id)) != self.lines:
            raise FailedPreconditionError(
                f"order {self.order_id} already reserved other items",
                reason="ORDER_ID_REUSED",
            )
