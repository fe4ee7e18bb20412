"""Full reindex from the catalog into a new index, then an atomic alias swap.

`python -m services.search.reindex` (what `shop reindex` and the platform's first start
run) reads the search service's environment; `reindex()` is the same for callers in
Python. Searches keep reading the old index until the swap, which moves the alias in one
`_aliases` request; the old index stays for a grace period so searches already running on
it finish, then it is deleted. Events arriving meanwhile reach both indices (the new one
holds the `_building` alias), and product versions decide between them and the snapshot.
Ratings are not in the catalog: they are carried over from the old index.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from mesh.clients import CallAs, ChannelFactory
from mesh.settings import RuntimeSettings
from services.search.adapters.index import ProductIndex, connect
from services.search.convert import facts_from_product
from services.search.domain.documents import RatingFacts, product_seen, rating_seen
from services.search.settings import Settings

logger = logging.getLogger(__name__)


class Catalog(Protocol):
    def pages(self, page_size: int) -> AsyncIterator[list[catalog_pb2.Product]]: ...


class CatalogPages:
    """Pages through CatalogService.ListProducts (a public read)."""

    def __init__(self, stub: catalog_pb2_grpc.CatalogServiceAsyncStub) -> None:
        self._stub = stub

    async def pages(self, page_size: int) -> AsyncIterator[list[catalog_pb2.Product]]:
        token = ""
        while True:
            page = await self._stub.ListProducts(
                catalog_pb2.ListProductsRequest(page_size=page_size, page_token=token)
            )
            yield list(page.products)
            if not (token := page.next_page_token):
                return


@dataclass(frozen=True, slots=True)
class ReindexReport:
    index: str
    products: int
    ratings: int
    deleted: list[str]


async def reindex(
    index: ProductIndex, catalog: Catalog, *, page_size: int = 100, grace_seconds: float = 5.0
) -> ReindexReport:
    await index.ensure()
    previous = await index.write_targets()
    new = await index.create_building()
    try:
        products = 0
        async for page in catalog.pages(page_size):
            await index.load(new, [(p.id, product_seen(facts_from_product(p))) for p in page])
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


async def _carry_ratings(index: ProductIndex, sources: list[str], new: str) -> int:
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


async def reindex_from_environment(environ: Mapping[str, str]) -> ReindexReport:
    """What the command runs: settings and channels as the search service has them."""
    settings = Settings.from_env(environ)
    channels = ChannelFactory(RuntimeSettings.from_env("search", environ).clients)
    es = connect(settings.elasticsearch_url)
    try:
        # A public read: no token needed, so it works before any service token can be had.
        channel = channels.channel("catalog", call_as=CallAs.ANONYMOUS)
        catalog = CatalogPages(catalog_pb2_grpc.CatalogServiceStub(channel))
        return await reindex(
            ProductIndex(es, settings.index_alias),
            catalog,
            page_size=settings.reindex_page_size,
            grace_seconds=settings.reindex_grace_seconds,
        )
    finally:
        await es.close()
        await channels.close()


def quiet_client_logs() -> None:
    """The Elasticsearch client logs every HTTP request at INFO; only its problems matter."""
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    quiet_client_logs()
    try:
        report = asyncio.run(reindex_from_environment(os.environ))
    except Exception:
        logger.exception("reindex failed")
        return 1
    logger.info(
        "search index %s: %d products, %d ratings; removed %s",
        report.index,
        report.products,
        report.ratings,
        ", ".join(report.deleted) or "nothing",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
