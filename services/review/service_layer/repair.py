"""The counting repair: counts reviews whose writer died between storing and counting them."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from .reviews import ReviewService

logger = logging.getLogger(__name__)


class CountingRepair:
    """Counts reviews that were stored but whose writer died before counting them."""

    def __init__(
        self, reviews: ReviewService, *, grace: timedelta, interval_seconds: float = 10.0
    ) -> None:
        self._reviews = reviews
        self._grace = grace
        self._interval_seconds = interval_seconds

    async def run(self) -> None:
        while True:
            try:
                if repaired := await self._reviews.repair(self._grace):
                    logger.warning("counted %d reviews left uncounted by a crash", repaired)
            except Exception:
                logger.exception("counting repair failed; trying again later")
            await asyncio.sleep(self._interval_seconds)
