"""Request coalescing (single flight): concurrent loads of one key share one call.

When a popular key misses a cache, a hundred readers arriving together would each run the
same store query; FerretDB serves those one after another, so the last reader waits for all
of them. Here the first reader starts the load and the others await the same result.

The load runs as its own task: a reader that gives up (deadline, disconnect) does not cancel
it for the others, and the cache fill inside it still lands. A failed load is not remembered:
every waiter gets the error, and the next reader starts a fresh load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

__all__ = ["Coalescer"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

BatchLoad = Callable[[list[K]], Awaitable[Mapping[K, V]]]


class Coalescer(Generic[K, V]):
    def __init__(self) -> None:
        self._flights: dict[K, asyncio.Future[Mapping[K, V]]] = {}

    async def load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """`load()`'s result, shared with every concurrent caller of the same key."""

        async def one(keys: list[K]) -> Mapping[K, V]:
            return {key: await load()}

        return (await self.load_many([key], one))[key]

    async def load_many(self, keys: Sequence[K], load: BatchLoad[K, V]) -> dict[K, V]:
        """The values of `keys`: those already being loaded are awaited, the others are loaded
        in one `load(keys)` call. A key that `load` leaves out is absent from the result."""
        wanted = list(dict.fromkeys(keys))
        new = [key for key in wanted if key not in self._flights]
        if new:
            flight = asyncio.ensure_future(load(new))
            for key in new:
                self._flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(new, done))
        flights = {key: self._flights[key] for key in wanted}
        results: dict[K, V] = {}
        for shared in dict.fromkeys(flights.values()):
            loaded = await asyncio.shield(shared)
            results.update((key, loaded[key]) for key in wanted if key in loaded)
        return results

    def forget(self, key: K) -> None:
        """Readers from now on start a new load of `key` (a write made the one in flight
        possibly older than what they must see)."""
        self._flights.pop(key, None)

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    def _landed(self, keys: list[K], flight: asyncio.Future[Mapping[K, V]]) -> None:
        for key in keys:
            if self._flights.get(key) is flight:
                del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # retrieved: a failure nobody awaits any more is not logged
