"""Outbound resilience from the policy: a catalog replica killed with SIGKILL in the middle of a
load of reads is retried around by the caller's sidecar (no error reaches the caller), ejected
by outlier detection and readmitted once it serves again."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import urllib.request
from typing import Any

import grpc
import pytest
from grpc import aio
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from launcher.process import read_pid
from launcher.testing import RunningPlatform

from .meshclient import admin_token, bearer, mesh_of, product_with_stock

pytestmark = pytest.mark.integration

KILLED = "catalog-2"
WORKERS = 4
# The catalog's outlier rule ejects for baseEjectionTime (30s), checked every interval (30s).
READMISSION_SECONDS = 100
RETRIES = "cluster.outbound|catalog.upstream_rq_retry"
EJECTIONS = "cluster.outbound|catalog.outlier_detection.ejections_enforced_total"


def _admin_text(platform: RunningPlatform, path: str) -> str:
    url = mesh_of(platform).admin_url("gateway") + path
    with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - our own sidecar
        return str(reply.read().decode())


def _stat(platform: RunningPlatform, name: str) -> int:
    text = _admin_text(platform, "/stats?filter=" + re.escape(name))
    match = re.search(rf"^{re.escape(name)}: (\d+)$", text, re.M)
    return int(match.group(1)) if match else 0


def _ejected(platform: RunningPlatform, port: int) -> bool:
    text = _admin_text(platform, "/clusters")
    flags = f"outbound|catalog::127.0.0.1:{port}::health_flags::"
    return any(
        line.startswith(flags) and "failed_outlier_check" in line for line in text.splitlines()
    )


async def test_a_killed_replica_is_retried_around_ejected_and_readmitted(
    shop_mesh_platform: RunningPlatform,
) -> None:
    mesh = mesh_of(shop_mesh_platform)
    assert mesh.is_replica(KILLED), "the mesh platform runs the catalog twice"
    killed_port = mesh.inbound_port(KILLED)
    product = await product_with_stock(shop_mesh_platform)
    metadata = bearer(await admin_token(shop_mesh_platform))
    retries_before = _stat(shop_mesh_platform, RETRIES)
    ejections_before = _stat(shop_mesh_platform, EJECTIONS)

    # What the gateway's code does, minus its own client retries: only the sidecar may retry.
    channel = aio.insecure_channel(
        mesh.outbound_address("gateway", "catalog"), options=[("grpc.enable_retries", 0)]
    )
    stub: Any = catalog_pb2_grpc.CatalogServiceStub(channel)
    errors: list[str] = []
    answered = 0
    stop = asyncio.Event()

    async def read_until_stopped() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                reply = await stub.GetProduct(
                    catalog_pb2.GetProductRequest(id=product), metadata=metadata, timeout=10
                )
                assert reply.id == product
                answered += 1
            except grpc.aio.AioRpcError as error:
                errors.append(f"{error.code().name}: {error.details()}")

    workers = [asyncio.create_task(read_until_stopped()) for _ in range(WORKERS)]
    try:
        await asyncio.sleep(2)
        pid = read_pid(shop_mesh_platform.platform.config.run_dir / f"{KILLED}.pid")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed_at = answered
        await asyncio.sleep(4)
        assert _ejected(shop_mesh_platform, killed_port), "the killed replica was not ejected"
    finally:
        stop.set()
        await asyncio.gather(*workers)
        await channel.close()

    assert not errors, errors[:5]
    assert answered > killed_at > 0
    assert _stat(shop_mesh_platform, RETRIES) > retries_before
    assert _stat(shop_mesh_platform, EJECTIONS) > ejections_before

    # The supervisor restarts the replica; outlier detection lets it back in after its time.
    supervisor = shop_mesh_platform.platform.supervisor
    assert supervisor is not None
    deadline = time.monotonic() + READMISSION_SECONDS
    while _ejected(shop_mesh_platform, killed_port) or not (
        shop_mesh_platform.platform.component_healthy(KILLED)
    ):
        assert time.monotonic() < deadline, "the replica was never readmitted"
        supervisor.tick()
        await asyncio.sleep(1)
