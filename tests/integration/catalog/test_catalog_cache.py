"""The catalog's read cache on real Valkey and FerretDB: never older than the last write,
and a Redis outage costs nothing but speed."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from mesh.mongo import Database, connect, create_indexes
from services.catalog.adapters.cache import CachedCatalogStore, CacheMetrics, RedisLayer
from services.catalog.adapters.events import encode_event
from services.catalog.adapters.mongo import INDEXES, MongoCatalogStore, catalog_outbox
from services.catalog.domain.model import Product, ProductDraft
from services.catalog.domain.money import Money
from services.catalog.domain.pagination import PageCursor
from services.catalog.domain.reservations import StockLine
from services.catalog.service_layer.catalog import CatalogService

from .catalog_identities import ORDERS, STAFF

pytestmark = pytest.mark.integration

MUG = ProductDraft(name="Mug", price=Money(1299, "USD"), category="kitchen", inventory=5)


@pytest.fixture
async def database(ferretdb_url: str) -> AsyncIterator[Database]:
    client = connect(ferretdb_url)
    db = client[f"catalog_{uuid.uuid4().hex[:10]}"]
    await create_indexes(db, INDEXES)
    yield db
    await client.drop_database(db.name)
    await client.close()


class Cached:
    def __init__(self, database: Database, redis: Redis) -> None:
        self.registry = CollectorRegistry()
        metrics = CacheMetrics(self.registry)
        self.mongo = MongoCatalogStore(database, catalog_outbox(database), encode_event)
        self.store = CachedCatalogStore(
            self.mongo, RedisLayer(redis, metrics), metrics, namespace=f"catalog:{database.name}"
        )
        self.catalog = CatalogService(self.store)

    def lookups(self, layer: str, kind: str, result: str) -> float:
        labels = {"layer": layer, "kind": kind, "result": result}
        return self.registry.get_sample_value("catalog_cache_lookups_total", labels) or 0.0


@pytest.fixture
async def cached(database: Database, redis_url: str) -> AsyncIterator[Cached]:
    redis = Redis.from_url(redis_url, socket_timeout=0.25)
    yield Cached(database, redis)
    await redis.aclose()


async def test_a_read_never_returns_a_version_older_than_the_last_write(cached: Cached) -> None:
    catalog = cached.catalog
    mug = await catalog.create_product(STAFF, MUG)
    assert (await catalog.get_product(mug.id)).version == 1  # filled from the store
    assert (await catalog.get_product(mug.id)).version == 1  # and now from Redis
    assert cached.lookups("redis", "product", "hit") >= 1

    cheaper = ProductDraft(price=Money(999, "USD"))
    await catalog.update_product(STAFF, mug.id, cheaper, frozenset({"price"}), 0)
    await catalog.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 2)])
    seen = await catalog.get_product(mug.id)
    assert (seen.price.minor, seen.inventory, seen.version) == (999, 3, 3)

    # A slow reader that loaded version 1 before those writes fills the cache late: the
    # newer entry wins.
    await cached.store.refresh(mug, mug.id)
    assert (await catalog.get_product(mug.id)).version == 3
    found, missing = await catalog.batch_get([mug.id, "nope"])
    assert [p.version for p in found] == [3] and missing == ["nope"]

    await catalog.delete_product(STAFF, mug.id)
    await cached.store.refresh(replace(seen, version=3), mug.id)  # a late fill again
    assert await cached.store.get(mug.id) is None


async def test_listing_pages_follow_the_products_they_show(cached: Cached) -> None:
    catalog = cached.catalog
    first = await catalog.create_product(STAFF, MUG)
    page = await catalog.list_products("kitchen", 10, "")
    assert ([p.id for p in page.products], page.total_size) == ([first.id], 1)
    await catalog.list_products("kitchen", 10, "")
    assert cached.lookups("local", "page", "hit") >= 1

    # Stock is read through the product entries, so a cached page shows the new stock.
    await catalog.reserve_stock(ORDERS, "o1", [StockLine(first.id, 1)])
    page = await catalog.list_products("kitchen", 10, "")
    assert [p.inventory for p in page.products] == [4]

    # A new product changes the membership: the next page shows it at once.
    second = await catalog.create_product(STAFF, MUG)
    page = await catalog.list_products("kitchen", 10, "")
    assert ([p.id for p in page.products], page.total_size) == ([first.id, second.id], 2)
    await catalog.delete_product(STAFF, first.id)
    page = await catalog.list_products("kitchen", 10, "")
    assert ([p.id for p in page.products], page.total_size) == ([second.id], 1)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_without_redis_every_call_still_answers_from_the_store(database: Database) -> None:
    redis = Redis.from_url(f"redis://127.0.0.1:{unused_port()}/0", socket_connect_timeout=0.25)
    try:
        down = Cached(database, redis)
        catalog = down.catalog
        mug = await catalog.create_product(STAFF, MUG)
        await catalog.reserve_stock(ORDERS, "o1", [StockLine(mug.id, 1)])
        assert (await catalog.get_product(mug.id)).inventory == 4
        page = await catalog.list_products("", 10, "")
        assert ([p.id for p in page.products], page.total_size) == ([mug.id], 1)
        assert down.lookups("redis", "product", "error") >= 1
    finally:
        await redis.aclose()


class CountingStore(MongoCatalogStore):
    """The real store, counting the reads that reach it."""

    calls: dict[str, int]

    def count_call(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    async def get_many(self, product_ids: Sequence[str]) -> dict[str, Product]:
        self.count_call("get_many")
        return await super().get_many(product_ids)

    async def list_page(self, category: str, after: PageCursor | None, limit: int) -> list[Product]:
        self.count_call("list_page")
        return await super().list_page(category, after, limit)

    async def count(self, category: str) -> int:
        self.count_call("count")
        return await super().count(category)


async def test_a_hundred_readers_of_a_cold_page_make_one_store_read_each(
    database: Database, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url, socket_timeout=0.25)
    try:
        cached = Cached(database, redis)
        mugs = [await cached.catalog.create_product(STAFF, MUG) for _ in range(3)]
        counting = CountingStore(database, catalog_outbox(database), encode_event)
        counting.calls = {}
        metrics = CacheMetrics(CollectorRegistry())
        store = CachedCatalogStore(
            counting, RedisLayer(redis, metrics), metrics, namespace=f"catalog:{database.name}"
        )
        await redis.delete(*[f"catalog:{database.name}:product:{m.id}" for m in mugs])
        catalog = CatalogService(store)

        pages = await asyncio.gather(
            *(catalog.list_products("kitchen", 20, "") for _ in range(100))
        )
        assert {(tuple(p.id for p in page.products), page.total_size) for page in pages} == {
            (tuple(m.id for m in mugs), 3)
        }
        assert counting.calls == {"list_page": 1, "count": 1}  # the page filled the products

        await redis.delete(*[f"catalog:{database.name}:product:{m.id}" for m in mugs])
        products = await asyncio.gather(*(catalog.get_product(mugs[0].id) for _ in range(100)))
        assert {p.version for p in products} == {1}
        assert counting.calls["get_many"] == 1
    finally:
        await redis.aclose()


async def test_a_page_read_late_in_its_life_is_reloaded_before_it_expires(
    database: Database, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url, socket_timeout=0.25)
    try:
        counting = CountingStore(database, catalog_outbox(database), encode_event)
        counting.calls = {}
        metrics = CacheMetrics(CollectorRegistry())
        namespace = f"catalog:{database.name}"
        store = CachedCatalogStore(
            counting,
            RedisLayer(redis, metrics),
            metrics,
            namespace=namespace,
            ttl_seconds=2.0,
            local_seconds=0.0,
        )
        catalog = CatalogService(store)
        mug = await catalog.create_product(STAFF, MUG)
        await catalog.list_products("kitchen", 20, "")
        assert counting.calls == {"list_page": 1, "count": 1}
        await catalog.list_products("kitchen", 20, "")  # young entries: just read
        assert counting.calls == {"list_page": 1, "count": 1}

        await asyncio.sleep(1.2)  # past half of the two seconds
        page = await catalog.list_products("kitchen", 20, "")  # answered from Redis at once
        assert [p.id for p in page.products] == [mug.id]

        async def shortest_page_life() -> int:
            pages = [key async for key in redis.scan_iter(f"{namespace}:page:*")]
            assert pages
            return min([await redis.pttl(key) for key in pages])

        for _ in range(50):  # the reload counts its store call before it writes the entry
            if counting.calls == {"list_page": 2, "count": 2} and await shortest_page_life() > 1500:
                break
            await asyncio.sleep(0.02)
        assert counting.calls == {"list_page": 2, "count": 2}  # reloaded in the background
        assert await shortest_page_life() > 1500  # written again with a whole life
    finally:
        await redis.aclose()
