"""A minimal service process for the signal-handling test: `python mesh_service_child.py`."""

from __future__ import annotations

import logging

from mesh.bootstrap import Runtime, run_service
from mesh.server import ServiceSpec

logger = logging.getLogger("mesh_service_child")


async def build(runtime: Runtime) -> ServiceSpec:
    async def cleanup() -> None:
        logger.info("cleanup ran")

    return ServiceSpec(name="cart", services=[], register=[], cleanup=[cleanup])


if __name__ == "__main__":
    run_service("cart", build)
