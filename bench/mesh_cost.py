"""What the sidecar mesh costs: one product read and one checkout through the gateway, on the
plain platform and in mesh mode (`shop up --mesh`), on one set of stores, one run each.

    python -m bench.mesh_cost [--seconds 15] [--concurrency 8]

`measure_mesh_cost()` returns the figures for the benchmark runner; `main()` prints them as JSON.
The added latency per hop divides the p50 difference by the mesh hops one request makes,
counted from the sidecars' own request counters (a checkout makes several).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import secrets
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

import httpx

from launcher.testing import RunningPlatform, discard, session_infrastructure, start_platform

log = logging.getLogger("bench.mesh_cost")

# One load generator stands for many shoppers behind one address: lift the edge limits.
LIFTED_LIMITS: Final = {
    "GATEWAY_RATE_LIMIT_PER_MINUTE": str(10**9),
    "GATEWAY_USER_RATE_LIMIT_PER_MINUTE": str(10**9),
    "GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE": str(10**9),
}
UPSTREAM_REQUESTS: Final = re.compile(
    r'^envoy_cluster_upstream_rq_total\{envoy_cluster_name="outbound\|[^"]+"\} (\d+)', re.M
)


@dataclass(frozen=True)
class Figures:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    mesh_hops_per_request: float


@dataclass(frozen=True)
class Scenario:
    """A timed call per iteration, with untimed preparation (a cart to check out)."""

    call: Callable[[httpx.AsyncClient, int], Awaitable[bool]]
    prepare: Callable[[httpx.AsyncClient, int], Awaitable[None]] | None = None


def measure_mesh_cost(seconds: float = 15.0, concurrency: int = 8) -> dict[str, Any]:
    """Both platforms one after the other on one set of stores; figures side by side."""
    os.environ.update(LIFTED_LIMITS)
    infra = session_infrastructure()
    runs: dict[str, dict[str, Figures]] = {}
    try:
        for mode in ("plain", "mesh"):
            running = start_platform(infra, mesh=mode == "mesh")
            try:
                runs[mode] = asyncio.run(_run_scenarios(running, seconds, concurrency))
            finally:
                running.platform.stop()
    finally:
        discard(infra)
    return _compare(runs)


def _compare(runs: dict[str, dict[str, Figures]]) -> dict[str, Any]:
    comparison: dict[str, Any] = {}
    for scenario, plain in runs["plain"].items():
        mesh = runs["mesh"][scenario]
        hops = max(mesh.mesh_hops_per_request, 1.0)
        comparison[scenario] = {
            "plain": asdict(plain),
            "mesh": asdict(mesh),
            "added_p50_ms_per_hop": round((mesh.p50_ms - plain.p50_ms) / hops, 3),
            "throughput_ratio": round(mesh.rps / plain.rps, 3) if plain.rps else 0.0,
        }
    return comparison


async def _run_scenarios(
    running: RunningPlatform, seconds: float, concurrency: int
) -> dict[str, Figures]:
    async with httpx.AsyncClient(base_url=running.base_url, timeout=60) as http:
        admin = await _login(http, running.admin_email, running.admin_password)
        product = await _new_product(http, admin, inventory=10**6)
        shoppers = [await _new_shopper(http) for _ in range(concurrency)]

        async def read(client: httpx.AsyncClient, worker: int) -> bool:
            return (await client.get(f"/v1/products/{product}")).status_code == 200

        async def fill_cart(client: httpx.AsyncClient, worker: int) -> None:
            user_id, token = shoppers[worker]
            item = {"productId": product, "quantity": 1}
            reply = await client.post(
                f"/v1/carts/{user_id}/items", json=item, headers=_bearer(token)
            )
            reply.raise_for_status()

        async def checkout(client: httpx.AsyncClient, worker: int) -> bool:
            user_id, token = shoppers[worker]
            order = {
                "userId": user_id,
                "paymentToken": "tok_visa",
                "shippingAddress": _ADDRESS,
            }
            headers = {**_bearer(token), "Idempotency-Key": secrets.token_hex(12)}
            reply = await client.post("/v1/orders", json=order, headers=headers)
            return reply.status_code in (200, 201)

        scenarios = {
            "GET /v1/products/{id}": Scenario(read),
            "checkout": Scenario(checkout, fill_cart),
        }
        return {
            name: await _drive(http, running, scenario, seconds, concurrency)
            for name, scenario in scenarios.items()
        }


async def _drive(
    http: httpx.AsyncClient,
    running: RunningPlatform,
    scenario: Scenario,
    seconds: float,
    concurrency: int,
) -> Figures:
    """Closed loop: `concurrency` workers call as fast as answers come back."""
    hops = await _hops_per_call(http, running, scenario)
    latencies: list[float] = []
    errors = 0
    began = time.monotonic()
    deadline = began + seconds

    async def worker(index: int) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            if scenario.prepare is not None:
                await scenario.prepare(http, index)
            start = time.perf_counter()
            try:
                ok = await scenario.call(http, index)
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.monotonic() - began
    latencies.sort()
    return Figures(
        requests=len(latencies),
        errors=errors,
        seconds=round(elapsed, 2),
        rps=round(len(latencies) / elapsed, 2),
        p50_ms=round(latencies[len(latencies) // 2] * 1000, 3) if latencies else 0.0,
        mesh_hops_per_request=hops,
    )


async def _hops_per_call(
    http: httpx.AsyncClient, running: RunningPlatform, scenario: Scenario, calls: int = 3
) -> float:
    """Mesh hops of one timed call, counted alone (its preparation left out)."""
    hops = 0
    for _ in range(calls):
        if scenario.prepare is not None:
            await scenario.prepare(http, 0)
        before = _mesh_requests(running)
        await scenario.call(http, 0)
        hops += _mesh_requests(running) - before
    return round(hops / calls, 2)


def _mesh_requests(running: RunningPlatform) -> int:
    """Requests all sidecars have sent to their upstreams so far (0 without a mesh)."""
    if running.mesh is None:
        return 0
    total = 0
    for workload in running.mesh.workloads:
        url = f"{running.mesh.admin_url(workload)}/stats/prometheus"
        with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - our own sidecar
            text = reply.read().decode()
        total += sum(int(count) for count in UPSTREAM_REQUESTS.findall(text))
    return total


_ADDRESS: Final = {
    "name": "Bench Shopper",
    "line1": "1 Bench Street",
    "line2": "",
    "city": "Berlin",
    "region": "BE",
    "postalCode": "10115",
    "countryCode": "DE",
}


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _login(http: httpx.AsyncClient, email: str, password: str) -> str:
    reply = await http.post("/v1/auth/login", json={"email": email, "password": password})
    reply.raise_for_status()
    return str(reply.json()["accessToken"])


async def _new_product(http: httpx.AsyncClient, admin: str, inventory: int) -> str:
    product = {
        "name": f"Mesh Kettle {secrets.token_hex(3)}",
        "description": "bought a lot by the mesh benchmark",
        "price": {"currencyCode": "USD", "units": "5", "nanos": 0},
        "category": "bench",
        "inventory": inventory,
    }
    reply = await http.post("/v1/products", json=product, headers=_bearer(admin))
    reply.raise_for_status()
    return str(reply.json()["id"])


async def _new_shopper(http: httpx.AsyncClient) -> tuple[str, str]:
    email = f"mesh-{secrets.token_hex(6)}@shopmesh.example.com"
    password = f"Mesh-{secrets.token_urlsafe(10)}-1"
    body = {"email": email, "password": password, "displayName": "Mesh Bench"}
    user = await http.post("/v1/users", json=body)
    user.raise_for_status()
    token = await _login(http, email, password)
    return str(user.json()["id"]), token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    result = measure_mesh_cost(args.seconds, args.concurrency)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
