"""Full reindex from the catalog into a new index, then an atomic alias swap.

Searches keep reading the old index until the swap, which moves the alias in one step; the
old index stays for a grace period so searches already running on it finish, then it is
deleted. Events arriving meanwhile reach both indices (the new one is a write target while
it is built), and product versions decide between them and the snapshot. Ratings are not in
the catalog: they are carried over from the old index.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ..domain.documents import RatingFacts, product_seen, rating_seen
from .ports import CatalogProducts, SearchIndex

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReindexReport:
    index: str
    products: int
    ratings: int
    deleted: list[str]


async def reindex(
    index: SearchIndex,
    catalog: CatalogProducts,
    *,
    page_size: int = 100,
    grace_seconds: float = 5.0,
) -> ReindexReport:
    await index.ensure()
    previous = await index.write_targets()
    new = await index.create_building()
    try:
        products = 0
        async for page in catalog.pages(page_size):
            await index.load(new, [(facts.id, product_seen(facts)) for facts in page])
            products += len(page)
        ratings = await _carry_ratings(index, previous, new)
        await index.refresh(new)
        await index.swap(new)
    except BaseException:
        await index.delete(new)
        raise
    logger.info("reindexed %d products (%d ratings) into %s", products, ratings, new)
    await asyncio.sleep(grace_seconds)
    return ReindexReport(new, products, ratings, await index.delete_unused())


async def _carry_ratings(index: SearchIndex, sources: list[str], new: str) -> int:
    carried = 0
    for source in (name for name in sources if name != new):
        await index.refresh(source)
        async for doc in index.scan(source, {"range": {"rating_version": {"gt": 0}}}):
            facts = RatingFacts(
                doc["id"], doc["rating_average"], doc["rating_count"], doc["rating_version"]
            )
            await index.apply_to(new, doc["id"], rating_seen(facts))
            carried += 1
    return carried
