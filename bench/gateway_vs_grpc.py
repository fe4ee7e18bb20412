"""Gateway overhead benchmark: the same four calls through REST and directly over gRPC.

Runs against the services of `make up` / `shop up` when they answer (ports and credentials from
the platform's configuration and state directory), else starts a private platform on free ports
for the run (as the end-to-end tests do). It starts its own `python -m gateway` in front
of them with the rate limits lifted (the edge limit of 60 requests a minute would otherwise be
the thing measured), then drives each call at a fixed concurrency for a fixed time and writes
requests per second and p50/p95/p99 latency, with a description of the machine, to
bench/results/. Not a test: numbers depend on the machine and on what else runs on it.

    .venv/bin/python bench/gateway_vs_grpc.py [--concurrency 16] [--duration 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import httpx
from grpc import aio
from shop.cart.v1 import cart_pb2, cart_pb2_grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.common.v1 import common_pb2
from shop.order.v1 import order_pb2, order_pb2_grpc

from launcher.config import PlatformConfig, repo_root
from launcher.credentials import CredentialStore, admin_from_env
from launcher.testing import discard, session_infrastructure, start_platform

log = logging.getLogger("bench")

RESULTS_DIR = Path(__file__).parent / "results"
ADDRESS = {
    "name": "Bench Shopper",
    "line1": "1 Load Street",
    "city": "Berlin",
    "region": "BE",
    "postalCode": "10115",
    "countryCode": "DE",
}

Call = Callable[[int], Awaitable[bool]]
# Untimed work before each timed call (refilling the cart before an order).
Prepare = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Figures:
    scenario: str
    path: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass
class Shopper:
    user_id: str
    token: str

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index] * 1000


async def _drive(
    scenario: str,
    path: str,
    call: Call,
    prepare: Prepare | None,
    concurrency: int,
    duration: float,
    warmup: float,
) -> Figures:
    latencies: list[float] = []
    errors = 0
    measuring = False
    stop_at = time.perf_counter() + warmup + duration

    async def worker(index: int) -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            if prepare is not None:
                await prepare(index)
            started = time.perf_counter()
            ok = await call(index)
            elapsed = time.perf_counter() - started
            if measuring:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1

    tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    await asyncio.sleep(warmup)
    measuring = True
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    if not latencies:
        raise RuntimeError(f"{scenario} {path}: every request failed ({errors} errors)")
    return Figures(
        scenario=scenario,
        path=path,
        requests=len(latencies),
        errors=errors,
        seconds=round(seconds, 3),
        rps=round(len(latencies) / seconds, 1),
        p50_ms=round(statistics.median(latencies) * 1000, 2),
        p95_ms=round(_percentile(latencies, 0.95), 2),
        p99_ms=round(_percentile(latencies, 0.99), 2),
    )


def _machine() -> dict[str, Any]:
    cpu_model = ""
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": cpu_model,
        "cpu_count": os.cpu_count(),
        "memory": memory,
        "grpcio": grpc.__version__,
        # Other work on the machine skews every figure; the 1-minute load tells how much.
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


@dataclass(frozen=True)
class Target:
    """Where the services are and who the admin is."""

    grpc: Mapping[str, str]
    admin_email: str
    admin_password: str
    log_dir: Path


class Bench:
    def __init__(self, target: Target, gateway_url: str, concurrency: int) -> None:
        self.concurrency = concurrency
        self.http = httpx.AsyncClient(
            base_url=gateway_url,
            timeout=30.0,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.channels = {
            name: aio.insecure_channel(target.grpc[name]) for name in ("catalog", "cart", "order")
        }
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(self.channels["catalog"])
        self.cart = cart_pb2_grpc.CartServiceStub(self.channels["cart"])
        self.orders = order_pb2_grpc.OrderServiceStub(self.channels["order"])
        self.product_id = ""
        self.shoppers: list[Shopper] = []

    async def close(self) -> None:
        await self.http.aclose()
        for channel in self.channels.values():
            await channel.close()

    async def _json(self, method: str, path: str, token: str = "", **kwargs: Any) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    async def setup(self, admin_email: str, admin_password: str) -> None:
        login = {"email": admin_email, "password": admin_password}
        admin = (await self._json("POST", "/v1/auth/login", json=login))["accessToken"]
        product = {
            "name": f"Bench Kettle {secrets.token_hex(3)}",
            "description": "A kettle that is bought a lot",
            "price": {"currencyCode": "USD", "units": "5", "nanos": 0},
            "category": "bench",
            "inventory": 1_000_000,
        }
        self.product_id = (await self._json("POST", "/v1/products", admin, json=product))["id"]
        for _ in range(self.concurrency):
            email = f"bench-{secrets.token_hex(6)}@shopmesh.example.com"
            password = f"Bench-{secrets.token_urlsafe(10)}-1"
            body = {"email": email, "password": password, "displayName": "Bench"}
            user = await self._json("POST", "/v1/users", json=body)
            tokens = await self._json(
                "POST", "/v1/auth/login", json={"email": email, "password": password}
            )
            shopper = Shopper(user["id"], tokens["accessToken"])
            self.shoppers.append(shopper)
            await self._refill(shopper)

    async def refill(self, index: int) -> None:
        await self._refill(self.shoppers[index])

    async def _refill(self, shopper: Shopper) -> None:
        await self.cart.AddItem(
            cart_pb2.AddItemRequest(
                user_id=shopper.user_id, product_id=self.product_id, quantity=1
            ),
            metadata=shopper.metadata,
            timeout=10,
        )

    # --- the four calls, each through the gateway and directly -----------------------

    async def rest(self, method: str, path: str, index: int, **kwargs: Any) -> bool:
        shopper = self.shoppers[index]
        headers = {"authorization": f"Bearer {shopper.token}", **kwargs.pop("headers", {})}
        response = await self.http.request(method, path, headers=headers, **kwargs)
        return response.status_code < 300

    async def rest_list(self, index: int) -> bool:
        return await self.rest("GET", "/v1/products", index)

    async def rest_get(self, index: int) -> bool:
        return await self.rest("GET", f"/v1/products/{self.product_id}", index)

    async def rest_cart(self, index: int) -> bool:
        return await self.rest("GET", f"/v1/carts/{self.shoppers[index].user_id}", index)

    async def rest_order(self, index: int) -> bool:
        shopper = self.shoppers[index]
        body = {"userId": shopper.user_id, "paymentToken": "tok_visa", "shippingAddress": ADDRESS}
        return await self.rest(
            "POST", "/v1/orders", index, json=body, headers={"idempotency-key": str(uuid.uuid4())}
        )

    async def grpc_call(self, call: Awaitable[Any]) -> bool:
        try:
            await call
        except aio.AioRpcError as error:
            log.debug("gRPC error: %s", error.code())
            return False
        return True

    async def grpc_list(self, index: int) -> bool:
        return await self.grpc_call(
            self.catalog.ListProducts(
                catalog_pb2.ListProductsRequest(),
                metadata=self.shoppers[index].metadata,
                timeout=10,
            )
        )

    async def grpc_get(self, index: int) -> bool:
        return await self.grpc_call(
            self.catalog.GetProduct(
                catalog_pb2.GetProductRequest(id=self.product_id),
                metadata=self.shoppers[index].metadata,
                timeout=10,
            )
        )

    async def grpc_cart(self, index: int) -> bool:
        shopper = self.shoppers[index]
        return await self.grpc_call(
            self.cart.GetCart(
                cart_pb2.GetCartRequest(user_id=shopper.user_id),
                metadata=shopper.metadata,
                timeout=10,
            )
        )

    async def grpc_order(self, index: int) -> bool:
        shopper = self.shoppers[index]
        request = order_pb2.PlaceOrderRequest(
            user_id=shopper.user_id,
            payment_token="tok_visa",
            shipping_address=common_pb2.Address(
                name=ADDRESS["name"],
                line1=ADDRESS["line1"],
                city=ADDRESS["city"],
                region=ADDRESS["region"],
                postal_code=ADDRESS["postalCode"],
                country_code=ADDRESS["countryCode"],
            ),
        )
        metadata = (*shopper.metadata, ("idempotency-key", str(uuid.uuid4())))
        return await self.grpc_call(self.orders.PlaceOrder(request, metadata=metadata, timeout=20))


def _start_gateway(
    target: Target, port: int, workers: int, log_file: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "GATEWAY_METRICS_PORT": str(_free_port()),
        "GATEWAY_WORKERS": str(workers),
        # The edge limits would be what is measured: lift them for this gateway only.
        "GATEWAY_RATE_LIMIT_PER_MINUTE": str(10**9),
        "GATEWAY_USER_RATE_LIMIT_PER_MINUTE": str(10**9),
        "GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE": str(10**9),
        **{f"{name.upper()}_SERVICE_ADDR": address for name, address in target.grpc.items()},
    }
    env.pop("REDIS_URL", None)
    with log_file.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway"],
            cwd=repo_root(),
            env=env,
            stdout=output,
            stderr=output,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited; see {log_file}")
        if _serving(f"http://127.0.0.1:{port}/readyz"):
            return process
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError(
        f"the gateway or the services it needs are not ready (`make up` first?); see {log_file}"
    )


# The services the benchmarked calls reach (checkout also charges through payment).
_NEEDED = ("user", "catalog", "cart", "order", "payment")


def _serving(readyz: str) -> bool:
    """The benchmarked services answer SERVING (others, e.g. search, do not matter here)."""
    try:
        upstreams = httpx.get(readyz, timeout=5).json()["upstreams"]
    except (httpx.TransportError, ValueError, KeyError):
        return False
    states = {name.split(".")[1]: state for name, state in upstreams.items()}
    return all(states.get(name) == "SERVING" for name in _NEEDED)


def _write(results: Mapping[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = directory / f"gateway_vs_grpc-{stamp}.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Gateway vs direct gRPC",
        "",
        f"Run {results['finished']}: concurrency {results['concurrency']}, "
        f"{results['duration_seconds']} s per call after {results['warmup_seconds']} s warm-up, "
        f"gateway workers {results['gateway_workers']}.",
        "",
        "| call | path | rps | p50 ms | p95 ms | p99 ms | requests | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results["figures"]:
        lines.append(
            f"| {row['scenario']} | {row['path']} | {row['rps']} | {row['p50_ms']} | "
            f"{row['p95_ms']} | {row['p99_ms']} | {row['requests']} | {row['errors']} |"
        )
    machine = results["machine"]
    lines += ["", "Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()), ""]
    (directory / "latest.md").write_text("\n".join(lines))
    return target


def _running_target() -> Target | None:
    """The platform of `make up`, when its state exists and the needed services answer."""
    config = PlatformConfig.from_env(os.environ, repo_root())
    store = CredentialStore(config.state_dir)
    if not store.exists():
        return None
    grpc_addresses = {name: f"127.0.0.1:{port}" for name, port in config.ports.grpc.items()}
    if not all(_answers(grpc_addresses[name]) for name in _NEEDED):
        return None
    credentials = admin_from_env(store.load_or_create()[0], os.environ)
    config.log_dir.mkdir(parents=True, exist_ok=True)
    return Target(
        grpc_addresses, credentials.admin_email, credentials.admin_password, config.log_dir
    )


def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def _target() -> Iterator[Target]:
    running = _running_target()
    if running is not None:
        log.info("benchmarking the running platform")
        yield running
        return
    log.info("no running platform: starting a private one (takes a minute or two)")
    infra = session_infrastructure()
    try:
        platform_ = start_platform(infra)
        try:
            yield Target(
                dict(platform_.grpc_addresses),
                platform_.admin_email,
                platform_.admin_password,
                infra.config.log_dir,
            )
        finally:
            platform_.platform.stop()
    finally:
        discard(infra)


async def _run(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    port = _free_port()
    gateway = _start_gateway(
        target, port, args.gateway_workers, target.log_dir / "bench-gateway.log"
    )
    bench = Bench(target, f"http://127.0.0.1:{port}", args.concurrency)
    try:
        await bench.setup(target.admin_email, target.admin_password)
        plan: list[tuple[str, str, Call, Prepare | None]] = [
            ("gateway", "GET /v1/products", bench.rest_list, None),
            ("grpc", "CatalogService.ListProducts", bench.grpc_list, None),
            ("gateway", "GET /v1/products/{id}", bench.rest_get, None),
            ("grpc", "CatalogService.GetProduct", bench.grpc_get, None),
            ("gateway", "GET /v1/carts/{userId}", bench.rest_cart, None),
            ("grpc", "CartService.GetCart", bench.grpc_cart, None),
            ("gateway", "POST /v1/orders", bench.rest_order, bench.refill),
            ("grpc", "OrderService.PlaceOrder", bench.grpc_order, bench.refill),
        ]
        figures = []
        for scenario, path, call, prepare in plan:
            row = await _drive(
                scenario, path, call, prepare, args.concurrency, args.duration, args.warmup
            )
            log.info("%s", row)
            figures.append(asdict(row))
    finally:
        await bench.close()
        gateway.terminate()
        gateway.wait(timeout=20)
    return {
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "concurrency": args.concurrency,
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "gateway_workers": args.gateway_workers,
        "note": "Each order is preceded by an untimed AddItem refill; client, gateway and "
        "services share the machine; the gateway logs one access line per request.",
        "machine": _machine(),
        "figures": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--gateway-workers", type=int, default=1)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    with _target() as target:
        results = asyncio.run(_run(args, target))
    written = _write(results, args.results_dir)
    log.info("results written to %s", written)


if __name__ == "__main__":
    main()
