"""Garbage collection for a long-running server: no full collection walks the start-up heap.

CPython's full collection visits every container object the process tracks, and a service
holds a few hundred thousand from its imports and start-up alone (gRPC, protobuf descriptors,
OpenTelemetry, the stores' drivers). Measured during the seed's load scenario on the 2-core
bench machine, each full collection stopped a service's event loop for 60-140 ms: longer than
the whole p95 budget of a request. What exists once a service is serving lives until it
exits, so `settle_heap` collects once and freezes the survivors (`gc.freeze`): later
collections visit only what was created since.

The youngest generation is also collected less often: every request allocates hundreds of
short-lived containers, and with CPython's default threshold (700) a collection runs every few
requests and promotes the objects of the requests still in flight, which then die in the
older generations and make their collections longer and more frequent.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Final

__all__ = ["settle_heap"]

logger = logging.getLogger(__name__)

# Allocations minus deallocations before a young collection; then every 10th young collection
# also collects the middle generation, and every 10th of those may collect all (CPython's
# defaults for those two).
_THRESHOLDS: Final = (10_000, 10, 10)


def settle_heap() -> None:
    """Once the process is ready to serve: collect, freeze what survived, relax the young
    generation's threshold."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_THRESHOLDS)
    logger.debug(
        "froze %d objects of the start-up heap in %.0f ms",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )
