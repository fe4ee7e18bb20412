"""Carts in Redis (Valkey): one hash per user, every write one Lua script.

A script runs atomically on the server, so two devices adding to the same cart at once are
applied one after the other and no add is lost. The same script appends the write's event
to the `cart:outbox` stream, so an acknowledged write always has its event recorded; the
outbox relay publishes from that stream.

Hash `cart:<user id>`: `q:<product>` quantity, `s:<product>` order of first add,
`n:<product>` / `c:<product>` / `m:<product>` name, currency and price in minor units when
last written, `_lines`, `_seq`, `_version` and `_updated` (ms). The version is at least the
server clock in microseconds, so it keeps increasing even after a cart expired or was cleared.
"""

from __future__ import annotations

import base64
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from mesh.clock import utc_now
from mesh.errors import NotFoundError

from ..domain import limits
from ..domain.model import CartEvent, CartLine, Money, StoredCart
from ..service_layer.ports import CartStore
from .events import OutboxEntry, envelope_bytes

OUTBOX_STREAM: Final = "cart:outbox"
OUTBOX_GROUP: Final = "cart-relay"
# An entry delivered to a relay that did not confirm it within this time goes to another.
RECLAIM_IDLE_MS: Final = 30_000

_PRELUDE: Final = """
local cart, outbox = KEYS[1], KEYS[2]
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local function bump(ttl_ms)
  local version = math.max(tonumber(redis.call('HGET', cart, '_version') or '0') + 1, now_us)
  redis.call('HSET', cart, '_version', string.format('%d', version),
             '_updated', string.format('%d', math.floor(now_us / 1000)))
  redis.call('PEXPIRE', cart, ttl_ms)
  return version
end
local function record(event, version, quantity)
  redis.call('XADD', outbox, '*', 'event', event, 'version', string.format('%d', version),
             'quantity', quantity)
end
"""

# The cart's fields and the ms left before it expires, read atomically in one command (a
# MULTI/HGETALL/PTTL/EXEC pipeline costs the client four replies to parse).
_READ: Final = """
return {redis.call('HGETALL', KEYS[1]), redis.call('PTTL', KEYS[1])}
"""

# ARGV: product, units, inventory, max units, max lines, ttl ms, name, currency, minor, event
_ADD: Final = (
    _PRELUDE
    + """
local product, units = ARGV[1], tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', cart, 'q:' .. product) or '0')
local wanted = current + units
if wanted > tonumber(ARGV[4]) then return {'LINE_LIMIT', current} end
if wanted > tonumber(ARGV[3]) then return {'STOCK', tonumber(ARGV[3])} end
if current == 0 then
  if tonumber(redis.call('HGET', cart, '_lines') or '0') >= tonumber(ARGV[5]) then
    return {'CART_FULL', 0}
  end
  redis.call('HINCRBY', cart, '_lines', 1)
  redis.call('HSET', cart, 's:' .. product, redis.call('HINCRBY', cart, '_seq', 1))
end
redis.call('HSET', cart, 'q:' .. product, wanted, 'n:' .. product, ARGV[7],
           'c:' .. product, ARGV[8], 'm:' .. product, ARGV[9])
record(ARGV[10], bump(ARGV[6]), units)
return {'OK', wanted}
"""
)

# ARGV: product, units, inventory, ttl ms, name, currency, minor, added event, removed event
_SET: Final = (
    _PRELUDE
    + """
local product, units = ARGV[1], tonumber(ARGV[2])
local current = tonumber(redis.call('HGET', cart, 'q:' .. product) or '0')
if current == 0 then return {'MISSING', 0} end
if units > current and units > tonumber(ARGV[3]) then return {'STOCK', tonumber(ARGV[3])} end
if units == current then return {'OK', current} end
redis.call('HSET', cart, 'q:' .. product, units, 'n:' .. product, ARGV[5],
           'c:' .. product, ARGV[6], 'm:' .. product, ARGV[7])
local version = bump(ARGV[4])
if units > current then record(ARGV[8], version, units - current)
else record(ARGV[9], version, current - units) end
return {'OK', units}
"""
)

# ARGV: product, ttl ms, removed event
_REMOVE: Final = (
    _PRELUDE
    + """
local product = ARGV[1]
local current = tonumber(redis.call('HGET', cart, 'q:' .. product) or '0')
if current == 0 then return {'MISSING', 0} end
redis.call('HDEL', cart, 'q:' .. product, 's:' .. product, 'n:' .. product,
           'c:' .. product, 'm:' .. product)
local lines = redis.call('HINCRBY', cart, '_lines', -1)
local version = bump(ARGV[2])
record(ARGV[3], version, current)
if lines <= 0 then redis.call('DEL', cart) end
return {'OK', current}
"""
)


def cart_key(user_id: str) -> str:
    return f"cart:{user_id}"


class RedisCartStore(CartStore):
    """The cart store, and the outbox its writes append to (`OutboxRelay` reads it)."""

    def __init__(self, redis: Redis, *, ttl_seconds: int, consumer_name: str = "") -> None:
        self._redis = redis
        self._ttl_ms = ttl_seconds * 1000
        self._read = redis.register_script(_READ)
        self._add = redis.register_script(_ADD)
        self._set = redis.register_script(_SET)
        self._remove = redis.register_script(_REMOVE)
        # Unique per store instance: a relay reads "its own" pending entries back by name.
        self._consumer = (
            consumer_name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        )

    async def get(self, user_id: str) -> StoredCart:
        flat, ttl_ms = await self._read(keys=[cart_key(user_id)])
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        return _cart_from_hash(user_id, fields, int(ttl_ms))

    async def add(self, user_id: str, line: CartLine, *, inventory: int, event: CartEvent) -> int:
        outcome, value = await self._add(
            keys=[cart_key(user_id), OUTBOX_STREAM],
            args=[
                line.product_id,
                line.quantity,
                inventory,
                limits.MAX_QUANTITY,
                limits.MAX_LINES,
                self._ttl_ms,
                line.name,
                line.unit_price.currency,
                line.unit_price.minor,
                _text(event),
            ],
        )
        if outcome == "LINE_LIMIT":
            raise limits.line_limit_exceeded(line.product_id, int(value))
        if outcome == "STOCK":
            raise limits.insufficient_stock(line.product_id, int(value))
        if outcome == "CART_FULL":
            raise limits.cart_full(line.product_id)
        return int(value)

    async def set_quantity(
        self,
        user_id: str,
        line: CartLine,
        *,
        inventory: int,
        added: CartEvent,
        removed: CartEvent,
    ) -> None:
        outcome, value = await self._set(
            keys=[cart_key(user_id), OUTBOX_STREAM],
            args=[
                line.product_id,
                line.quantity,
                inventory,
                self._ttl_ms,
                line.name,
                line.unit_price.currency,
                line.unit_price.minor,
                _text(added),
                _text(removed),
            ],
        )
        if outcome == "MISSING":
            raise NotFoundError(
                f"the cart has no line for product {line.product_id}",
                resource_type="shop.cart.v1.CartItem",
                resource_name=f"carts/{user_id}/items/{line.product_id}",
            )
        if outcome == "STOCK":
            raise limits.insufficient_stock(line.product_id, int(value))

    async def remove(self, user_id: str, product_id: str, *, event: CartEvent) -> bool:
        outcome, _ = await self._remove(
            keys=[cart_key(user_id), OUTBOX_STREAM], args=[product_id, self._ttl_ms, _text(event)]
        )
        return bool(outcome == "OK")

    async def clear(self, user_id: str) -> None:
        await self._redis.delete(cart_key(user_id))

    async def create_outbox_group(self) -> None:
        try:
            await self._redis.xgroup_create(OUTBOX_STREAM, OUTBOX_GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def pending_events(self, limit: int) -> list[OutboxEntry]:
        # First what this relay was given and did not confirm (a failed publish), then what
        # a dead relay left behind, then new entries.
        mine = await self._redis.xreadgroup(
            OUTBOX_GROUP, self._consumer, {OUTBOX_STREAM: "0"}, count=limit
        )
        entries = _stream_entries(mine)
        if not entries:
            _, claimed, *_ = await self._redis.xautoclaim(
                OUTBOX_STREAM, OUTBOX_GROUP, self._consumer, RECLAIM_IDLE_MS, "0-0", count=limit
            )
            entries = [entry for entry in claimed if entry[1]]
        if not entries:
            fresh = await self._redis.xreadgroup(
                OUTBOX_GROUP, self._consumer, {OUTBOX_STREAM: ">"}, count=limit, block=1000
            )
            entries = _stream_entries(fresh)
        return [
            OutboxEntry(
                entry_id=entry_id,
                event=base64.b64decode(fields["event"]),
                version=int(fields["version"]),
                quantity=int(fields["quantity"]),
            )
            for entry_id, fields in entries
        ]

    async def confirm_published(self, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(OUTBOX_STREAM, OUTBOX_GROUP, *entry_ids)
                pipe.xdel(OUTBOX_STREAM, *entry_ids)
                await pipe.execute()


def _text(event: CartEvent) -> str:
    return base64.b64encode(envelope_bytes(event)).decode()


def _stream_entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    entries: list[tuple[str, dict[str, str]]] = []
    for _stream, stream_entries in reply or []:
        entries.extend((entry_id, fields) for entry_id, fields in stream_entries if fields)
    return entries


def _cart_from_hash(user_id: str, fields: dict[str, str], ttl_ms: int) -> StoredCart:
    quantities = {key[2:]: int(value) for key, value in fields.items() if key.startswith("q:")}
    ordered = sorted(quantities, key=lambda product: int(fields.get(f"s:{product}", "0")))
    lines = tuple(
        CartLine(
            product_id=product,
            quantity=quantities[product],
            name=fields.get(f"n:{product}", ""),
            unit_price=Money(int(fields.get(f"m:{product}", "0")), fields.get(f"c:{product}", "")),
        )
        for product in ordered
    )
    updated = fields.get("_updated")
    updated_at = datetime.fromtimestamp(int(updated) / 1000, tz=UTC) if updated else None
    expires_at = utc_now() + timedelta(milliseconds=ttl_ms) if ttl_ms > 0 else None
    return StoredCart(user_id, lines, updated_at, expires_at)
