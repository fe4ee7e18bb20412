"""Keeps the index in step with the catalog and the reviews, one change at a time.

Every change is idempotent by version (see `domain.documents`), so redeliveries, replays
and reordered events are harmless and no separate dedupe store is needed.
"""

from __future__ import annotations

import asyncio
import logging

from ..domain.documents import Change
from .ports import IndexUnavailable, IndexWriter

logger = logging.getLogger(__name__)


class IndexUpdater:
    def __init__(self, index: IndexWriter, *, max_backoff_seconds: float = 10.0) -> None:
        self._index = index
        self._max_backoff_seconds = max_backoff_seconds

    async def apply(self, product_id: str, change: Change) -> None:
        backoff = 0.2
        while True:
            try:
                await self._index.apply(product_id, change)
                return
            except IndexUnavailable as error:
                # Wait here, keeping the partition's order, rather than let the consumer
                # dead-letter an event that is perfectly good.
                logger.warning("index unavailable (%s); retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_seconds)
