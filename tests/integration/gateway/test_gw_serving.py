"""`python -m gateway` as deployed: uvicorn workers, probes, OpenAPI, metrics port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mesh.settings import SERVICE_PORTS

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[3]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_up(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 30.0
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the gateway exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the gateway did not answer /healthz in time")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    port, metrics_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_METRICS_PORT": str(metrics_port),
        "GATEWAY_WORKERS": "2",
        "SHOP_STATE_DIR": str(tmp_path_factory.mktemp("gateway-state")),
        # Nothing listens there: the gateway must still start and answer for itself.
        **{f"{name.upper()}_SERVICE_ADDR": "127.0.0.1:1" for name in SERVICE_PORTS},
    }
    env.pop("REDIS_URL", None)
    log = tmp_path_factory.mktemp("gateway-log") / "gateway.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway"], cwd=REPO, env=env, stdout=output, stderr=output
        )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/healthz", process, log)
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_probes_and_documents(served: tuple[str, str]) -> None:
    base, _ = served
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz", timeout=10)
    assert ready.status_code == 503
    assert "shop.catalog.v1.CatalogService" in ready.json()["upstreams"]
    spec = httpx.get(f"{base}/openapi.json").json()
    assert spec["openapi"] == "3.1.0"
    assert {"/v1/products", "/v1/orders", "/v1/orders/{id}:cancel"} <= set(spec["paths"])
    assert httpx.get(f"{base}/docs").status_code == 200


def test_unavailable_service_answers_503_json(served: tuple[str, str]) -> None:
    base, _ = served
    response = httpx.get(f"{base}/v1/products", timeout=15)
    assert response.status_code == 503
    assert response.json()["code"] == 14
    assert "127.0.0.1:1" not in response.text
    assert response.headers["x-request-id"]


def test_metrics_of_all_workers(served: tuple[str, str]) -> None:
    base, metrics = served
    for _ in range(4):
        httpx.get(f"{base}/healthz")
    text = httpx.get(f"{metrics}/metrics").text
    assert "gateway_http_requests_total" in text
    assert 'route="/healthz"' in text
