"""A card processor in test mode, for development and tests.

Tokens (see the public API notes): `tok_visa` approves; `tok_chargeDeclined` and
`tok_insufficientFunds` decline; `tok_processingError` fails with a processor error the
first time an idempotency key is seen and approves on the retry; `tok_slow` approves after
`slow_seconds`, longer than one try's timeout. Any other token is declined as invalid.
Like a real processor it is idempotent by key: a key seen before returns the first answer
without charging again, and a retry arriving while the first call is still running waits for
it. Every answer takes a realistic few tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from ..domain.provider import (
    Approved,
    ChargeOutcome,
    Declined,
    ProviderCharge,
    ProviderError,
    ProviderRefund,
)

_DECLINES = {
    "tok_chargeDeclined": ("card_declined", "The card was declined."),
    "tok_insufficientFunds": ("insufficient_funds", "The card has insufficient funds."),
}
_V = TypeVar("_V")

# Enough to answer any retry of a recent key; a real processor keeps keys for about a day.
_REMEMBERED_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class SandboxLatency:
    min_seconds: float = 0.02
    max_seconds: float = 0.08
    slow_seconds: float = 3.0


class SandboxProvider:
    def __init__(self, latency: SandboxLatency) -> None:
        self._latency = latency
        self._charges: OrderedDict[str, asyncio.Task[ChargeOutcome]] = OrderedDict()
        self._failed_once: OrderedDict[str, None] = OrderedDict()
        self._refunds: OrderedDict[str, str] = OrderedDict()

    async def charge(self, charge: ProviderCharge) -> ChargeOutcome:
        task = self._charges.get(charge.idempotency_key)
        if task is None or (task.done() and task.exception() is not None):
            # The processor's work does not stop when a caller gives up waiting.
            task = asyncio.get_running_loop().create_task(self._process(charge))
            _remember(self._charges, charge.idempotency_key, task)
        return await asyncio.shield(task)

    async def refund(self, refund: ProviderRefund) -> str:
        await self._network_delay()
        reference = self._refunds.get(refund.idempotency_key)
        if reference is None:
            reference = "re_" + secrets.token_hex(12)
            _remember(self._refunds, refund.idempotency_key, reference)
        return reference

    async def _process(self, charge: ProviderCharge) -> ChargeOutcome:
        await self._network_delay()
        token = charge.payment_token
        reference = "ch_" + secrets.token_hex(12)
        if token == "tok_processingError" and charge.idempotency_key not in self._failed_once:
            _remember(self._failed_once, charge.idempotency_key, None)
            raise ProviderError("the processor had an error; retry with the same key")
        if token == "tok_slow":
            await asyncio.sleep(self._latency.slow_seconds)
        if token in ("tok_visa", "tok_processingError", "tok_slow"):
            return Approved(reference)
        code, message = _DECLINES.get(token, ("invalid_token", "The payment token is not valid."))
        return Declined(code, message, reference)

    async def _network_delay(self) -> None:
        await asyncio.sleep(random.uniform(self._latency.min_seconds, self._latency.max_seconds))


def _remember(store: OrderedDict[str, _V], key: str, value: _V) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > _REMEMBERED_KEYS:
        store.popitem(last=False)
