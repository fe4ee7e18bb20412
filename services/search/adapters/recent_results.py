"""Answers of the last second, shared by every shopper who asks the same thing.

The same few queries arrive many times a second ("shirt" from the home page, each letter of
a popular prefix in the search box). Elasticsearch spends about 10 ms of CPU on one typo
tolerant search with highlights and facets, most of it highlighting the fuzzy terms, so a
hundred shoppers asking alike would keep a core of a two-core machine busy for answers that
are all the same. `RecentResults` keeps each answer for `seconds` (one by default: the index
itself refreshes once a second, so results are already up to a second behind the events)
and lets concurrent identical queries share one call (`mesh.coalescing`).

The key is the whole query body, so a different page, filter, sort or suggestion prefix is a
different entry. Failures are not kept: the next caller asks Elasticsearch again.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from mesh.coalescing import Coalescer

from ..service_layer.ports import SearchBackend

__all__ = ["RecentResults"]


class RecentResults(SearchBackend):
    def __init__(
        self,
        backend: SearchBackend,
        registry: CollectorRegistry,
        *,
        seconds: float = 1.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backend = backend
        self._seconds = seconds
        self._max_entries = max_entries
        self._clock = clock
        # body key -> (when it was answered, the answer); oldest first.
        self._answers: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._in_flight: Coalescer[str, dict[str, Any]] = Coalescer()
        self._lookups = Counter(
            "search_recent_results_lookups",
            "Searches answered from the last second's answers (hit), shared with an identical"
            " search in flight or sent to Elasticsearch (miss).",
            ("result",),
            registry=registry,
        )

    async def search(self, body: dict[str, Any]) -> dict[str, Any]:
        if self._seconds <= 0:
            return await self._backend.search(body)
        key = json.dumps(body, sort_keys=True, separators=(",", ":"))
        now = self._clock()
        kept = self._answers.get(key)
        if kept is not None and now - kept[0] < self._seconds:
            self._lookups.labels("hit").inc()
            return kept[1]
        self._lookups.labels("miss").inc()
        return await self._in_flight.load(key, lambda: self._ask(key, body))

    async def _ask(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        asked_at = self._clock()
        answer = await self._backend.search(body)
        self._answers[key] = (asked_at, answer)
        self._answers.move_to_end(key)
        while len(self._answers) > self._max_entries:
            self._answers.popitem(last=False)
        return answer
