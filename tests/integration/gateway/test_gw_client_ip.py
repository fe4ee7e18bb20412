"""The client IP of `python -m gateway` as deployed (uvicorn workers, real sockets), in both
setups: locally (the gateway is the edge, no trusted proxy) and in the cluster (requests come
from the Istio sidecar at 127.0.0.6, the only trusted hop, with Kong's X-Forwarded-For).

X-Forwarded-For from an untrusted peer changes neither the rate-limit bucket nor the logged
client IP; garbage in the header is not a client of its own and never a 500."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from mesh.settings import SERVICE_PORTS

from .test_gw_serving import REPO, _free_port, _wait_until_up

pytestmark = pytest.mark.integration

LIMIT = 3
# Any non-probe route goes through the per-IP limit; nothing listens upstream (503 is fine).
ROUTE = "/v1/products"
SIDECAR = "127.0.0.6"


@dataclass(frozen=True)
class Gateway:
    base: str
    log: Path

    def get(self, *, source: str = "127.0.0.1", forwarded_for: str | None = None) -> int:
        headers = {} if forwarded_for is None else {"x-forwarded-for": forwarded_for}
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(transport=transport, timeout=15) as client:
            return client.get(f"{self.base}{ROUTE}", headers=headers).status_code

    def logged_client_ips(self, count: int) -> list[str]:
        """The access log's client_ip of the first `count` requests to ROUTE, in order (the
        line is written as the response goes out: wait for it)."""
        deadline = time.monotonic() + 5
        ips: list[str] = []
        while time.monotonic() < deadline:
            entries = [
                json.loads(line)
                for line in self.log.read_text(errors="replace").splitlines()
                if line.startswith("{") and '"client_ip"' in line
            ]
            ips = [str(entry["client_ip"]) for entry in entries if entry["path"] == ROUTE]
            if len(ips) >= count:
                break
            time.sleep(0.1)
        return ips


def _gateway(tmp: Path, **env: str) -> Iterator[Gateway]:
    port, metrics_port = _free_port(), _free_port()
    environ = {
        **os.environ,
        # All of 127.0.0.0/8 reaches a 0.0.0.0 listener; the test picks its source addresses.
        "GATEWAY_HOST": "0.0.0.0",
        "GATEWAY_PORT": str(port),
        "GATEWAY_METRICS_PORT": str(metrics_port),
        "GATEWAY_WORKERS": "1",
        "GATEWAY_RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "SHOP_STATE_DIR": str(tmp / "state"),
        "LOG_LEVEL": "INFO",
        **{f"{name.upper()}_SERVICE_ADDR": "127.0.0.1:1" for name in SERVICE_PORTS},
        **env,
    }
    environ.pop("REDIS_URL", None)
    if "GATEWAY_TRUSTED_PROXIES" not in env:
        environ.pop("GATEWAY_TRUSTED_PROXIES", None)
    log = tmp / "gateway.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway"], cwd=REPO, env=environ, stdout=output, stderr=output
        )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/healthz", process, log)
        yield Gateway(f"http://127.0.0.1:{port}", log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def local_gateway(tmp_path: Path) -> Iterator[Gateway]:
    yield from _gateway(tmp_path)


@pytest.fixture
def cluster_gateway(tmp_path: Path) -> Iterator[Gateway]:
    # deploy/mesh/policy.yaml's value: the sidecar's inbound source addresses.
    yield from _gateway(tmp_path, GATEWAY_TRUSTED_PROXIES="127.0.0.6/32,::6/128")


def test_locally_forwarded_for_changes_neither_bucket_nor_logged_ip(
    local_gateway: Gateway,
) -> None:
    forged = ["192.0.2.1", "192.0.2.2, 198.51.100.3", "not-an-ip", "::1", "127.0.0.1"]
    statuses = [local_gateway.get(forwarded_for=value) for value in forged]
    # One client, one budget: each forged header would otherwise open a fresh bucket.
    assert statuses[:LIMIT] == [503] * LIMIT and statuses[LIMIT:] == [429, 429]
    assert local_gateway.logged_client_ips(len(forged)) == ["127.0.0.1"] * len(forged)


def test_in_the_cluster_the_client_is_the_address_kong_appended(
    cluster_gateway: Gateway,
) -> None:
    # Kong appends the address it saw; the left-most entries are the client's own words.
    via_kong = [
        cluster_gateway.get(source=SIDECAR, forwarded_for=f"10.9.9.{i}, 203.0.113.7")
        for i in range(LIMIT + 1)
    ]
    assert via_kong == [503] * LIMIT + [429]
    # Another shopper behind the same sidecar has a budget of their own.
    assert cluster_gateway.get(source=SIDECAR, forwarded_for="203.0.113.8") == 503
    # Garbage where Kong's entry belongs: the sidecar is the nearest address vouched for.
    assert cluster_gateway.get(source=SIDECAR, forwarded_for="not-an-ip") == 503
    # A peer that is not the sidecar is its own client, whatever it claims.
    assert cluster_gateway.get(source="127.0.0.9", forwarded_for="203.0.113.8") == 503
    assert cluster_gateway.logged_client_ips(LIMIT + 4) == [
        *["203.0.113.7"] * (LIMIT + 1),
        "203.0.113.8",
        SIDECAR,
        "127.0.0.9",
    ]
