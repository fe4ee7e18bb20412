"""Batched index writes on a real Elasticsearch: one read and one bulk per index, conditional
writes, nothing written when nothing changes, every write target reached."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch
from unit.search.test_search_documents import facts

from services.search.adapters.index import ProductIndex, connect
from services.search.domain.documents import (
    RatingFacts,
    product_seen,
    rating_seen,
    stock_seen,
)
from services.search.service_layer.indexing import IndexUpdater

pytestmark = pytest.mark.integration


@pytest.fixture
async def es(elasticsearch_url: str) -> AsyncIterator[AsyncElasticsearch]:
    client = connect(elasticsearch_url)
    yield client
    await client.close()


@pytest.fixture
async def index(es: AsyncElasticsearch) -> AsyncIterator[ProductIndex]:
    alias = f"bulktest_{uuid.uuid4().hex[:10]}"
    product_index = ProductIndex(es, alias)
    await product_index.ensure()
    yield product_index
    await es.options(ignore_status=404).indices.delete(index=f"{alias}_v*", ignore_unavailable=True)


async def stored(es: AsyncElasticsearch, name: str, product_id: str) -> dict[str, Any]:
    found = await es.get(index=name, id=product_id)
    return {"version": found["_version"], **found["_source"]}


async def test_a_batch_writes_each_product_once_and_a_repeat_writes_nothing(
    es: AsyncElasticsearch, index: ProductIndex
) -> None:
    updater = IndexUpdater(index)
    await updater.apply_many(
        [
            ("p1", product_seen(facts(1, "Kettle"))),
            ("p2", product_seen(replace(facts(1, "Teapot"), id="p2"))),
            ("p1", stock_seen("p1", 4, 2)),
            ("p1", stock_seen("p1", 3, 3)),
            ("p1", stock_seen("p1", 9, 2)),  # older than what came before it
        ]
    )
    (target,) = await index.write_targets()
    p1 = await stored(es, target, "p1")
    assert (p1["version"], p1["inventory"], p1["stock_version"], p1["name"]) == (1, 3, 3, "Kettle")
    assert (await stored(es, target, "p2"))["name"] == "Teapot"

    # The same events again (a redelivery) and an older one: no write at all.
    await updater.apply_many([("p1", stock_seen("p1", 3, 3)), ("p1", stock_seen("p1", 4, 2))])
    assert (await stored(es, target, "p1"))["version"] == 1

    await updater.apply_many([("p1", stock_seen("p1", 0, 4))])
    p1 = await stored(es, target, "p1")
    assert (p1["version"], p1["inventory"], p1["in_stock"]) == (2, 0, False)


async def test_concurrent_batches_on_one_product_both_take_effect(
    es: AsyncElasticsearch, index: ProductIndex
) -> None:
    updater = IndexUpdater(index)
    await updater.apply_many([("p1", product_seen(facts(1, "Kettle")))])
    # Both read the same version; the second bulk write is refused and applied again.
    await asyncio.gather(
        updater.apply_many([("p1", stock_seen("p1", 2, 2))]),
        updater.apply_many([("p1", rating_seen(RatingFacts("p1", 4.5, 2, 1)))]),
    )
    (target,) = await index.write_targets()
    p1 = await stored(es, target, "p1")
    assert (p1["inventory"], p1["rating_average"], p1["rating_count"]) == (2, 4.5, 2)


async def test_a_batch_reaches_the_index_being_built_too(
    es: AsyncElasticsearch, index: ProductIndex
) -> None:
    (live,) = await index.write_targets()
    building = await index.create_building()
    await IndexUpdater(index).apply_many([("p1", product_seen(facts(1, "Kettle")))])
    for name in (live, building):
        assert (await stored(es, name, "p1"))["name"] == "Kettle"
    # A target deleted between reading the targets and writing is skipped, not an error.
    await index.delete(building)
    await index.apply_many_to(building, [("p1", stock_seen("p1", 1, 2))])
