"""The recovery loop: finishes or compensates every saga a crashed process left behind."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from mesh.clock import Clock

from .saga import SagaRunner
from .store import OrderStore

logger = logging.getLogger(__name__)


class RecoveryObserver:
    """Hears each recovery pass (metrics); the base class ignores it."""

    def pass_done(self, waiting: int, resumed: int) -> None:
        """`waiting` sagas were due for recovery, `resumed` of them were taken up."""


UNOBSERVED = RecoveryObserver()


@dataclass(frozen=True, slots=True)
class RecoveryPolicy:
    interval: timedelta = timedelta(seconds=10)
    # Sagas touched more recently than this are probably still being run by a live request.
    grace: timedelta = timedelta(seconds=30)
    batch_size: int = 100


class SagaRecovery:
    def __init__(
        self,
        store: OrderStore,
        saga: SagaRunner,
        clock: Clock,
        policy: RecoveryPolicy,
        observer: RecoveryObserver = UNOBSERVED,
    ) -> None:
        self._store = store
        self._saga = saga
        self._clock = clock
        self._policy = policy
        self._observer = observer

    async def run_once(self) -> int:
        """Drive each unfinished saga once; returns how many were taken up."""
        order_ids = await self._store.unfinished(
            self._clock() - self._policy.grace, self._policy.batch_size
        )
        resumed = 0
        for order_id in order_ids:
            try:
                # wait=False: a saga locked by a live runner is skipped, not waited for.
                order = await self._saga.run(order_id, wait=False)
            except Exception:
                # One broken order must not hold up the others.
                logger.exception("recovering order %s failed", order_id)
                continue
            if order is not None:
                resumed += 1
                logger.info("recovered order %s: now %s", order_id, order.saga_step)
        self._observer.pass_done(len(order_ids), resumed)
        return resumed

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                # A store outage must not stop recovery for good.
                logger.exception("saga recovery pass failed")
            await asyncio.sleep(self._policy.interval.total_seconds())
