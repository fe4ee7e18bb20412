"""The catalog's read cache: Redis in front of the store, and a short in-process layer.

What is cached, and why a shopper never sees a price or stock older than the write that
changed it:

* Products, in Redis only (`catalog:<database>:product:<id>`, value `<version>|<BSON>`, or
  `<version>|` for a deleted one). Every write of this catalog writes the new version
  through after the store committed it, before the call returns, and every fill (a read
  that missed) and write goes through one Lua compare-and-set that keeps the entry with the
  higher version. So a slow reader that loaded version 5 before a write of version 6 cannot
  put 5 back over 6, and a deleted product cannot be resurrected. Every replica writes
  through to the same Redis, so none needs another's events. Entries expire after
  `ttl_seconds`, which bounds the one case the versions cannot cover (this replica could
  not reach Redis while writing; then it deletes the key, and if even that fails the old
  entry lives at most `ttl_seconds`).
* Listing pages as the ordered product ids and the category's count, keyed by the page and
  a *membership generation* that every create, delete and category change increments; the
  products themselves come from the product entries above, so stock and price changes
  never stale a page. Pages are in Redis and, for `local_seconds`, in this process, which
  also keeps the generation that long: a product created through another replica may take
  that long to appear in this replica's listings. No price or stock is held in-process. A page
  or count read in the second half of its `ttl_seconds` is reloaded in the background, so a
  popular page does not expire under its readers (they would all wait for the store).

Product reads made while one is in flight go to Redis together in the next MGET
(`mesh.batching`): one round trip instead of one per call, and never a value read before the
call began. Concurrent misses of one key are coalesced (`Coalescer`): a hundred readers of a
cold page make one Redis read and, on a miss there, one store query; a write forgets the
product's load in flight, so a reader that arrives after the write returned never joins a load
that may have read the store before it.

Redis failing never fails a read: every Redis call is bounded by a short socket timeout,
and after an error the cache is bypassed for `retry_after_seconds` (reads go to the store).
Hits, misses, errors and Redis latency are in /metrics (`catalog_cache_*`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import bson
from bson.codec_options import CodecOptions
from prometheus_client import CollectorRegistry, Counter, Histogram
from redis.asyncio import Redis
from redis.exceptions import RedisError

from mesh.batching import Batcher
from mesh.coalescing import Coalescer

from ..domain.changes import ChangeKind, ProductChange
from ..domain.model import Category, Product
from ..domain.pagination import PageCursor
from ..domain.reservations import Reservation
from ..service_layer.ports import CatalogStore, Decide
from .documents import product_from_doc, product_to_doc

logger = logging.getLogger(__name__)

T = TypeVar("T")

_CODEC: Final[CodecOptions[Mapping[str, Any]]] = CodecOptions(tz_aware=True)
_LOCAL_PAGES: Final = 512
_DECODED_ENTRIES: Final = 4096
# Keeps the entry with the higher version: fills and write-throughs race safely.
_SET_IF_NEWER: Final = """
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)|'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""
_GONE: Final = object()


class CacheMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.lookups = Counter(
            "catalog_cache_lookups",
            "Catalog cache lookups by layer (local, redis), kind and result (hit, miss, error,"
            " bypass; refresh: a page or count reloaded ahead of its expiry).",
            ("layer", "kind", "result"),
            registry=registry,
        )
        self.redis_seconds = Histogram(
            "catalog_cache_redis_seconds",
            "Time of one catalog cache call to Redis.",
            ("operation",),
            buckets=(0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
            registry=registry,
        )

    def count(self, layer: str, kind: str, result: str, n: int = 1) -> None:
        if n:
            self.lookups.labels(layer, kind, result).inc(n)


class RedisLayer:
    """Redis calls that never raise: an error returns `fallback` and opens a short bypass."""

    def __init__(
        self,
        redis: Redis,
        metrics: CacheMetrics,
        *,
        retry_after_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self._metrics = metrics
        self._retry_after = retry_after_seconds
        self._clock = clock
        self._bypass_until = 0.0
        self.set_if_newer = redis.register_script(_SET_IF_NEWER)
        self._mgets: Batcher[list[str], list[Any]] = Batcher(self._mget_together)

    def mget(self, keys: list[str]) -> Awaitable[list[Any]]:
        """MGET; the keys of reads made while one is in flight go together in the next."""
        return self._mgets.submit(keys)

    async def _mget_together(self, reads: list[list[str]]) -> list[list[Any]]:
        values = await self.redis.mget([key for keys in reads for key in keys])
        answers, at = [], 0
        for keys in reads:
            answers.append(values[at : at + len(keys)])
            at += len(keys)
        return answers

    async def call(self, operation: str, kind: str, work: Awaitable[T], fallback: T) -> T:
        if self._clock() < self._bypass_until:
            _close(work)
            self._metrics.count("redis", kind, "bypass")
            return fallback
        started = self._clock()
        try:
            result = await work
        except (RedisError, OSError) as error:
            self._bypass_until = self._clock() + self._retry_after
            self._metrics.count("redis", kind, "error")
            logger.warning("catalog cache unavailable (%s); reading the store", error)
            return fallback
        self._metrics.redis_seconds.labels(operation).observe(self._clock() - started)
        return result


class CachedCatalogStore(CatalogStore):
    """A `CatalogStore` that serves reads from the cache and writes through to it."""

    def __init__(
        self,
        store: CatalogStore,
        redis: RedisLayer,
        metrics: CacheMetrics,
        *,
        namespace: str = "catalog",
        ttl_seconds: float = 30.0,
        local_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._redis = redis
        self._metrics = metrics
        self._prefix = f"{namespace}:"
        self._ttl_ms = int(ttl_seconds * 1000)
        self._local_seconds = local_seconds
        self._clock = clock
        self._generation_key = f"{self._prefix}generation"
        self._generation: tuple[float, int] | None = None  # (read at, value)
        self._bumps = 0  # generation bumps by this process: a read begun before one is stale
        self._local: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        # Redis entries already decoded, by their exact bytes: a popular product is read from
        # Redis on every call (so never stale) but parsed once per version, not per call.
        self._decoded: OrderedDict[bytes, Product | object] = OrderedDict()
        self._refreshes: dict[str, asyncio.Future[Any]] = {}  # by key, one at a time
        self._product_loads: Coalescer[str, Product] = Coalescer()
        self._id_loads: Coalescer[str, list[str]] = Coalescer()
        self._count_loads: Coalescer[str, int] = Coalescer()
        self._category_loads: Coalescer[str, list[Category]] = Coalescer()
        self._generation_loads: Coalescer[str, int] = Coalescer()

    # --- products ------------------------------------------------------------------------

    async def get(self, product_id: str) -> Product | None:
        return (await self.get_many([product_id])).get(product_id)

    async def get_many(self, product_ids: Sequence[str]) -> dict[str, Product]:
        wanted = list(dict.fromkeys(product_ids))
        if not wanted:
            return {}
        raw = await self._redis.call(
            "mget", "product", self._redis.mget([self._product_key(p) for p in wanted]), None
        )
        found: dict[str, Product] = {}
        missing: list[str] = []
        for product_id, value in zip(wanted, raw or [None] * len(wanted), strict=True):
            cached = self._decode(_as_bytes(value)) if value is not None else None
            if cached is None:
                missing.append(product_id)
            elif isinstance(cached, Product):
                found[product_id] = cached
        if raw is not None:
            self._metrics.count("redis", "product", "hit", len(wanted) - len(missing))
            self._metrics.count("redis", "product", "miss", len(missing))
        if missing:
            found.update(await self._product_loads.load_many(missing, self._load_products))
        return found

    def _decode(self, value: bytes) -> Product | object:
        product = self._decoded.get(value)
        if product is None:
            product = self._decoded[value] = _decode_product(value)
            if len(self._decoded) > _DECODED_ENTRIES:
                self._decoded.popitem(last=False)
        return product

    async def _load_products(self, product_ids: list[str]) -> dict[str, Product]:
        loaded = await self._store.get_many(product_ids)
        await self._fill(loaded.values())
        return loaded

    # --- listings ------------------------------------------------------------------------

    async def list_page(self, category: str, after: PageCursor | None, limit: int) -> list[Product]:
        generation = await self._current_generation()
        key = (
            f"{self._prefix}page:{generation}:{category}:{after.encode() if after else ''}:{limit}"
        )
        ids: list[str] | None = self._local_hit(key, "page")
        if ids is None:
            ids = await self._id_loads.load(
                key, lambda: self._load_ids(key, category, after, limit)
            )
        # The products come from their own entries (never older than their last write), so a
        # page shares only the ids with the readers it was loaded for.
        products = await self.get_many(ids)
        return [products[pid] for pid in ids if pid in products]

    async def _load_ids(
        self, key: str, category: str, after: PageCursor | None, limit: int
    ) -> list[str]:
        async def reload() -> list[str]:
            page = await self._store.list_page(category, after, limit)
            await self._fill(page)
            ids = [p.id for p in page]
            await self._remember(key, ids, _encode_ids)
            return ids

        ids = await self._redis_value(key, "page", _decode_ids, reload)
        return ids if ids is not None else await reload()

    async def count(self, category: str) -> int:
        key = f"{self._prefix}count:{await self._current_generation()}:{category}"
        total: int | None = self._local_hit(key, "count")
        if total is None:
            total = await self._count_loads.load(key, lambda: self._load_count(key, category))
        return total

    async def _load_count(self, key: str, category: str) -> int:
        async def reload() -> int:
            total = await self._store.count(category)
            await self._remember(key, total, lambda n: str(n).encode())
            return total

        total = await self._redis_value(key, "count", int, reload)
        return total if total is not None else await reload()

    async def list_categories(self) -> list[Category]:
        key = f"{self._prefix}categories:{await self._current_generation()}"
        categories: list[Category] | None = self._local_hit(key, "categories")
        if categories is None:
            categories = await self._category_loads.load(key, lambda: self._load_categories(key))
        return categories

    async def _load_categories(self, key: str) -> list[Category]:
        categories = await self._store.list_categories()
        self._local_put(key, categories)
        return categories

    # --- writes --------------------------------------------------------------------------

    async def commit(
        self, product_id: str, decide: Decide, op_key: str | None = None
    ) -> ProductChange | None:
        change = await self._store.commit(product_id, decide, op_key)
        if change is not None:
            self._product_loads.forget(product_id)
            await self._write_through(change)
        return change

    async def void(self, change: ProductChange) -> ProductChange:
        return await self._store.void(change)

    async def find_changes(self, op_keys: Sequence[str]) -> dict[str, ProductChange]:
        return await self._store.find_changes(op_keys)

    async def add_reservation(self, reservation: Reservation) -> Reservation:
        return await self._store.add_reservation(reservation)

    async def refresh(self, product: Product | None, product_id: str) -> None:
        """Writes a product the store just brought up to date through to the cache."""
        self._product_loads.forget(product_id)
        if product is not None:
            await self._fill([product])
        else:
            await self._redis.call(
                "del", "product", self._redis.redis.delete(self._product_key(product_id)), 0
            )

    async def _write_through(self, change: ProductChange) -> None:
        if change.kind is ChangeKind.RESERVATION_VOIDED:
            return
        value = _encode_product(change.version, change.product)
        stored = await self._redis.call(
            "set",
            "product",
            self._set_if_newer(self._product_key(change.product_id), change.version, value),
            None,
        )
        if stored is None:
            # Could not write the new version: at least do not keep serving the old one.
            await self._redis.call(
                "del", "product", self._redis.redis.delete(self._product_key(change.product_id)), 0
            )
        if _changes_membership(change):
            await self._bump_generation()

    async def _fill(self, products: Any) -> None:
        products = list(products)
        if not products:
            return

        async def set_all() -> None:
            async with self._redis.redis.pipeline(transaction=False) as pipe:
                for product in products:
                    await self._redis.set_if_newer(
                        keys=[self._product_key(product.id)],
                        args=[
                            product.version,
                            _encode_product(product.version, product),
                            self._ttl_ms,
                        ],
                        client=pipe,
                    )
                await pipe.execute()

        await self._redis.call("fill", "product", set_all(), None)

    def _product_key(self, product_id: str) -> str:
        return f"{self._prefix}product:{product_id}"

    def _set_if_newer(self, key: str, version: int, value: bytes) -> Awaitable[Any]:
        return self._redis.set_if_newer(keys=[key], args=[version, value, self._ttl_ms])

    # --- the membership generation and the in-process layer -----------------------------

    async def _current_generation(self) -> int:
        now = self._clock()
        if self._generation is not None and now - self._generation[0] < self._local_seconds:
            self._metrics.count("local", "generation", "hit")
            return self._generation[1]
        self._metrics.count("local", "generation", "miss")
        return await self._generation_loads.load("generation", self._read_generation)

    async def _read_generation(self) -> int:
        read_at, bumps = self._clock(), self._bumps
        raw = await self._redis.call(
            "get", "generation", self._redis.redis.get(self._generation_key), None
        )
        if bumps != self._bumps and self._generation is not None:
            return self._generation[1]  # bumped meanwhile: the bump's value is newer
        value = int(raw) if raw is not None else 0
        self._generation = (read_at, value)
        return value

    async def _bump_generation(self) -> None:
        self._bumps += 1
        self._generation_loads.forget("generation")
        raw = await self._redis.call(
            "incr", "generation", self._redis.redis.incr(self._generation_key), None
        )
        # Forget this process's pages at once; without Redis, move to a generation of our own.
        current = self._generation[1] if self._generation else 0
        self._generation = (self._clock(), int(raw) if raw is not None else current + 1_000_000)
        self._local.clear()

    def _local_hit(self, key: str, kind: str) -> Any:
        hit = self._local_get(key)
        self._metrics.count("local", kind, "miss" if hit is None else "hit")
        return hit

    async def _redis_value(
        self,
        key: str,
        kind: str,
        decode: Callable[[bytes], T],
        reload: Callable[[], Awaitable[T]],
    ) -> T | None:
        """The entry's value; one in the second half of its life is also reloaded in the
        background, so a page read all the time never expires under its readers."""

        async def get_with_ttl() -> list[Any]:
            async with self._redis.redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.pttl(key)
                return await pipe.execute()

        raw, ms_left = await self._redis.call("get", kind, get_with_ttl(), [None, 0])
        if raw is None:
            self._metrics.count("redis", kind, "miss")
            return None
        self._metrics.count("redis", kind, "hit")
        value = decode(_as_bytes(raw))
        self._local_put(key, value)
        if 0 <= ms_left < self._ttl_ms / 2:
            self._refresh_ahead(key, kind, reload)
        return value

    def _refresh_ahead(self, key: str, kind: str, reload: Callable[[], Awaitable[Any]]) -> None:
        if key in self._refreshes:
            return
        self._metrics.count("redis", kind, "refresh")
        refresh = asyncio.ensure_future(reload())
        self._refreshes[key] = refresh
        refresh.add_done_callback(lambda done: self._refreshed(key, done))

    def _refreshed(self, key: str, refresh: asyncio.Future[Any]) -> None:
        del self._refreshes[key]
        error = None if refresh.cancelled() else refresh.exception()
        if error is not None:  # the entry simply expires; the next reader loads it
            logger.warning("catalog cache: refreshing %s failed: %s", key, error)

    async def _remember(self, key: str, value: T, encode: Callable[[T], bytes]) -> None:
        self._local_put(key, value)
        await self._redis.call(
            "set", "page", self._redis.redis.set(key, encode(value), px=self._ttl_ms), None
        )

    def _local_get(self, key: str) -> Any:
        entry = self._local.get(key)
        if entry is None or self._clock() - entry[0] >= self._local_seconds:
            return None
        return entry[1]

    def _local_put(self, key: str, value: Any) -> None:
        self._local[key] = (self._clock(), value)
        self._local.move_to_end(key)
        while len(self._local) > _LOCAL_PAGES:
            self._local.popitem(last=False)


def _changes_membership(change: ProductChange) -> bool:
    return change.kind in (ChangeKind.CREATED, ChangeKind.DELETED) or (
        change.kind is ChangeKind.UPDATED and "category" in change.update_mask
    )


def _encode_product(version: int, product: Product | None) -> bytes:
    body = bson.encode(product_to_doc(product)) if product is not None else b""
    return b"%d|%s" % (version, body)


def _decode_product(value: bytes) -> Product | object:
    _, _, body = value.partition(b"|")
    if not body:
        return _GONE
    return product_from_doc(bson.decode(body, codec_options=_CODEC))


def _encode_ids(ids: list[str]) -> bytes:
    return "\n".join(ids).encode()


def _decode_ids(raw: bytes) -> list[str]:
    return raw.decode().split("\n") if raw else []


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _close(work: Awaitable[Any]) -> None:
    """Closes a coroutine that will not be awaited (no 'never awaited' warning)."""
    close = getattr(work, "close", None)
    if close is not None:
        close()
