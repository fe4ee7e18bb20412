"""The downstream services the order saga talks to, as small interfaces.

gRPC implementations live in `services.order.adapters.downstream`; unit tests use fakes.
Service-to-service calls authenticate with the order service's own token (the adapters hold
it); only reading the customer's cart uses the caller's token.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from ..domain.checkout import CartItem, ProductOffer
from ..domain.model import Order, OrderLine


class DownstreamUnavailable(Exception):
    """A call failed transiently; the step's outcome is unknown and the step is retried later."""


class ReservationRejected(Exception):
    """The catalog refused to reserve the stock (not enough left, product gone): final."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChargeStatus(enum.StrEnum):
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    UNKNOWN = "UNKNOWN"  # timed out or unavailable: the charge may or may not have happened


@dataclass(frozen=True, slots=True)
class ChargeResult:
    status: ChargeStatus
    payment_id: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CartContents:
    items: Sequence[CartItem]
    # The catalog's offers for these items as the cart priced them for this very read (the
    # cart asks the catalog on every read, it keeps no prices of its own for this); None when
    # the cart did not price them, and the catalog must be asked.
    offers: Mapping[str, ProductOffer] | None = None


class CartPort(abc.ABC):
    @abc.abstractmethod
    async def contents(self, user_id: str, caller_token: str) -> CartContents: ...

    @abc.abstractmethod
    async def clear(self, user_id: str) -> None: ...


class CatalogPort(abc.ABC):
    @abc.abstractmethod
    async def offers(
        self, product_ids: Collection[str], caller_token: str
    ) -> Mapping[str, ProductOffer]: ...

    @abc.abstractmethod
    async def reserve(self, order_id: str, lines: Sequence[OrderLine]) -> None:
        """Idempotent per order id; raises ReservationRejected or DownstreamUnavailable."""

    @abc.abstractmethod
    async def release(self, order_id: str) -> None:
        """Idempotent per order id; releasing what was never reserved is a no-op."""


class PaymentPort(abc.ABC):
    @abc.abstractmethod
    async def charge(self, order: Order) -> ChargeResult:
        """Charge the order's total with the order id as idempotency key; never double charges."""

    @abc.abstractmethod
    async def refund(self, order: Order) -> None:
        """Refund the whole captured amount, idempotent per order."""
