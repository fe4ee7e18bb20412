"""`python -m services.search.reindex`: rebuild the search index from the catalog.

What `shop reindex` and the platform's first start run. It reads the search service's
environment and assembles what the reindex use case needs, like `main.py` does for the
service.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping

from shop.catalog.v1 import catalog_pb2_grpc

from mesh.clients import CallAs, ChannelFactory
from mesh.settings import RuntimeSettings
from services.search.adapters.catalog import CatalogPages
from services.search.adapters.index import ProductIndex, connect
from services.search.service_layer.reindex import ReindexReport, reindex
from services.search.settings import Settings

logger = logging.getLogger(__name__)


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
