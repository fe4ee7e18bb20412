"""Keeps the index in step with the catalog and the reviews.

Every change is idempotent by version (see `domain.documents`), so redeliveries, replays
and reordered events are harmless and no separate dedupe store is needed. Changes that come
together (a batch of events) are folded per product, in order, into one change each and
written together: a product sold twenty times in a batch is written once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from ..domain.documents import Change, Source
from .ports import IndexUnavailable, IndexWriter

logger = logging.getLogger(__name__)


class IndexUpdater:
    def __init__(self, index: IndexWriter, *, max_backoff_seconds: float = 10.0) -> None:
        self._index = index
        self._max_backoff_seconds = max_backoff_seconds

    async def apply(self, product_id: str, change: Change) -> None:
        await self._until_written(lambda: self._index.apply(product_id, change))

    async def apply_many(self, changes: Sequence[tuple[str, Change]]) -> None:
        """Applies the changes in order: each product's folded into one, all written at once."""
        folded = [(product_id, composed(each)) for product_id, each in by_product(changes)]
        if folded:
            await self._until_written(lambda: self._index.apply_many(folded))

    async def _until_written(self, write: Callable[[], Awaitable[None]]) -> None:
        backoff = 0.2
        while True:
            try:
                await write()
                return
            except IndexUnavailable as error:
                # Wait here, keeping the partition's order, rather than let the consumer
                # dead-letter an event that is perfectly good.
                logger.warning("index unavailable (%s); retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_seconds)


def by_product(changes: Sequence[tuple[str, Change]]) -> list[tuple[str, list[Change]]]:
    """Each product's changes, in the order they came; products in order of first change."""
    grouped: dict[str, list[Change]] = {}
    for product_id, change in changes:
        grouped.setdefault(product_id, []).append(change)
    return list(grouped.items())


def composed(changes: Sequence[Change]) -> Change:
    """One change doing what `changes` do one after the other (None if none changes anything)."""
    if len(changes) == 1:
        return changes[0]

    def apply(current: Source | None) -> Source | None:
        document, changed = current, False
        for change in changes:
            updated = change(document)
            if updated is not None:
                document, changed = updated, True
        return document if changed else None

    return apply
