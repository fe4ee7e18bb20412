"""Full reindex with an alias swap while searches run (real FerretDB, Kafka and ES)."""

from __future__ import annotations

import asyncio
import os
import sys

import grpc
import pytest
from google.protobuf import field_mask_pb2
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from mesh import rbac
from services.search.adapters.catalog import CatalogPages
from services.search.service_layer.reindex import reindex

from ..review.review_harness import new_product
from ..service_harness import TokenKeys, eventually
from .search_harness import query, search_shop

pytestmark = pytest.mark.integration

PRODUCTS = 25


@pytest.fixture(scope="module")
def keys() -> TokenKeys:
    return TokenKeys()


async def test_every_search_during_reindexes_returns_results(
    ferretdb_url: str, kafka_bootstrap: str, elasticsearch_url: str, keys: TokenKeys
) -> None:
    admin = keys.metadata("admin-1", rbac.ADMIN)
    async with search_shop(ferretdb_url, kafka_bootstrap, elasticsearch_url, keys) as s:
        created = [
            await s.catalog.CreateProduct(
                new_product(f"Desk Lamp {i}", price=1000 + i * 100), metadata=admin
            )
            for i in range(PRODUCTS)
        ]
        await eventually(lambda: s.search.Search(query("lamp")), lambda r: r.total_size == PRODUCTS)

        totals: list[int] = []
        stop = asyncio.Event()

        async def search_continuously() -> None:
            while not stop.is_set():
                response = await s.search.Search(query("lamp", page_size=5))
                totals.append(response.total_size)

        async def change_catalog_meanwhile() -> None:
            await s.catalog.CreateProduct(new_product("Desk Lamp new"), metadata=admin)
            await s.catalog.UpdateProduct(
                catalog_pb2.UpdateProductRequest(
                    product=catalog_pb2.Product(id=created[0].id, name="Floor Lamp renamed"),
                    update_mask=field_mask_pb2.FieldMask(paths=["name"]),
                ),
                metadata=admin,
            )

        searchers = [asyncio.create_task(search_continuously()) for _ in range(3)]
        try:
            async with grpc.aio.insecure_channel(s.catalog_address) as channel:
                catalog = CatalogPages(catalog_pb2_grpc.CatalogServiceStub(channel))
                first, _ = await asyncio.gather(
                    reindex(s.index, catalog, page_size=7, grace_seconds=0.5),
                    change_catalog_meanwhile(),
                )
                second = await reindex(s.index, catalog, page_size=100, grace_seconds=0.5)
            # The command `shop reindex` runs, with the search service's environment.
            command = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.search.reindex",
                env={**os.environ, **s.environ, "CATALOG_SERVICE_ADDR": s.catalog_address},
            )
            assert await command.wait() == 0
        finally:
            stop.set()
            await asyncio.gather(*searchers)

        assert first.products >= PRODUCTS and second.products == PRODUCTS + 1
        assert len(totals) > 20
        assert min(totals) >= PRODUCTS, f"a search during the swap found {min(totals)}"
        behind_alias = await s.index.write_targets()
        assert len(behind_alias) == 1 and behind_alias[0] not in (first.index, second.index)
        final = await eventually(
            lambda: s.search.Search(query("lamp", page_size=100)),
            lambda r: r.total_size == PRODUCTS + 1,
        )
        assert "Floor Lamp renamed" in [hit.name for hit in final.products]


async def test_the_first_start_reindexes_from_the_catalog(
    ferretdb_url: str, kafka_bootstrap: str, elasticsearch_url: str, keys: TokenKeys
) -> None:
    async with search_shop(ferretdb_url, kafka_bootstrap, elasticsearch_url, keys) as s:
        alias = s.environ["SEARCH_INDEX_ALIAS"]
        # The service found no alias, created an empty first index and reindexed it away.
        targets = await eventually(
            s.index.write_targets, lambda t: len(t) == 1 and t != [f"{alias}_v0"]
        )
        assert targets[0].startswith(f"{alias}_v2")
