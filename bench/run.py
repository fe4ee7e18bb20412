"""`make bench`: every figure of the performance targets, side by side, in one run.

Starts a private platform on free ports (stores, services, the gateway with its rate limits
lifted, the demo catalog), a bare grpc.aio health server as the ceiling and Envoy's
grpc_json_transcoder in front of the same catalog. Then, on the fresh platform: idle CPU and
memory, the request scenarios in interleaved rounds, one checkout at a time, the ten-buyer race
and the seed's load scenario at 100 users; then it ages the platform (checkouts and product
updates) and measures everything again. Writes JSON and a Markdown table, with the machine's
description, to bench/results/ (latest.md is the newest table).

    .venv/bin/python -m bench.run            # full run (10,000 checkouts of ageing)
    BENCH_QUICK=1 .venv/bin/python -m bench.run   # a few minutes, for development
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

from bench import backlog, machine, seed_load, stack
from bench.drive import Figures, Samples, drive, figures
from bench.report import write_results
from bench.shop import Shop, Shopper
from mesh.events.security import PLAINTEXT

log = logging.getLogger("bench")

RESULTS_DIR = Path(__file__).parent / "results"
CONCURRENCY = 16


@dataclass(frozen=True)
class Plan:
    quick: bool
    rounds: int
    seconds_per_round: float
    sequential_checkouts: int
    seed_users: int
    seed_seconds: int
    idle_seconds: float
    aging_checkouts: int
    aging_updates: int

    @classmethod
    def of(cls, quick: bool) -> Plan:
        if quick:
            return cls(True, 2, 3.0, 10, 100, 20, 5.0, 300, 60)
        return cls(False, 3, 6.0, 30, 100, 40, 15.0, 10_000, 2_000)


class Platform:
    """The running pieces and the shoppers set up on them."""

    def __init__(self, shop: Shop, shoppers: list[Shopper], racers: int) -> None:
        self.shop = shop
        self.shoppers = shoppers
        self.racers = racers

    def shopper(self, index: int) -> Shopper:
        return self.shoppers[index % len(self.shoppers)]


async def _set_up(shop: Shop, admin_email: str, admin_password: str) -> Platform:
    await shop.log_in_admin(admin_email, admin_password)
    shop.product_id = await shop.new_product(inventory=100_000_000)
    shoppers = await shop.new_shoppers(CONCURRENCY)
    for shopper in shoppers:
        await shop.fill_cart(shopper)
    return Platform(shop, shoppers, racers=10)


def _scenarios(p: Platform) -> dict[str, tuple[Callable[[int], Awaitable[bool]], Any]]:
    shop = p.shop
    product = f"/v1/products/{shop.product_id}"

    async def hop(i: int) -> bool:
        return await shop.health_check()

    async def grpc_get(i: int) -> bool:
        return await shop.grpc_get_product(p.shopper(i))

    async def gateway_get(i: int) -> bool:
        return await shop.get_ok(shop.gateway + product)

    async def envoy_get(i: int) -> bool:
        return await shop.get_ok(shop.envoy + product)

    async def gateway_list(i: int) -> bool:
        return await shop.get_ok(shop.gateway + "/v1/products?page_size=20")

    async def envoy_list(i: int) -> bool:
        return await shop.get_ok(shop.envoy + "/v1/products?page_size=20")

    async def checkout(i: int) -> bool:
        return await shop.paid_checkout(p.shopper(i))

    async def refill(i: int) -> None:
        await shop.fill_cart(p.shopper(i))

    return {
        "plain grpc.aio health hop": (hop, None),
        "direct gRPC GetProduct": (grpc_get, None),
        "gateway GET /v1/products/{id}": (gateway_get, None),
        "envoy transcoder GET /v1/products/{id}": (envoy_get, None),
        "gateway GET /v1/products?page_size=20": (gateway_list, None),
        "envoy transcoder GET /v1/products?page_size=20": (envoy_list, None),
        "checkout x16 (POST /v1/orders)": (checkout, refill),
    }


async def _interleaved(p: Platform, plan: Plan) -> list[Figures]:
    scenarios = _scenarios(p)
    samples = {name: Samples() for name in scenarios}
    for round_number in range(plan.rounds):
        for name, (call, prepare) in scenarios.items():
            await drive(
                call,
                samples[name],
                concurrency=CONCURRENCY,
                duration=plan.seconds_per_round,
                prepare=prepare,
            )
        log.info("round %d of %d done", round_number + 1, plan.rounds)
    return [figures(name, CONCURRENCY, samples[name]) for name in scenarios]


async def _sequential_checkout(p: Platform, plan: Plan) -> Figures:
    samples = Samples()
    shop, shopper = p.shop, p.shoppers[0]

    async def checkout(i: int) -> bool:
        return await shop.paid_checkout(shopper)

    async def refill(i: int) -> None:
        await shop.fill_cart(shopper)

    await drive(
        checkout,
        samples,
        concurrency=1,
        duration=3600,
        warmup=0,
        prepare=refill,
        max_calls=plan.sequential_checkouts,
    )
    return figures("checkout alone (POST /v1/orders)", 1, samples)


@dataclass(frozen=True)
class Race:
    buyers: int
    units: int
    paid: int
    rejected: int
    timeouts_504: int
    other: dict[str, int]


async def _race(p: Platform) -> Race:
    shop = p.shop
    product = await shop.new_product(inventory=5, name="Flash Sale Kettle")
    buyers = await shop.new_shoppers(p.racers)
    for buyer in buyers:
        await shop.fill_cart(buyer, product)
    outcomes = await asyncio.gather(*(shop.checkout(buyer) for buyer in buyers))
    other: dict[str, int] = {}
    paid = rejected = timeouts = 0
    for status, order_status in outcomes:
        if status < 300 and order_status == "ORDER_STATUS_PAID":
            paid += 1
        elif status == 504:
            timeouts += 1
        elif status < 300 or status in (400, 409):  # answered: not paid, stock refused
            rejected += 1
        else:
            key = f"{status} {order_status}".strip()
            other[key] = other.get(key, 0) + 1
    return Race(len(buyers), 5, paid, rejected, timeouts, other)


@dataclass(frozen=True)
class Idle:
    seconds: float
    cpu_percent_of_machine: float
    resident_mb: float
    busiest: list[tuple[str, float]]


def _platform_pids() -> list[int]:
    return [pid for pid in machine.descendants(os.getpid()) if pid not in stack.BENCH_PROCESSES]


async def _idle(seconds: float) -> Idle:
    """CPU of every process of the platform while nobody calls it, as a share of all cores."""
    await asyncio.sleep(3)  # let the last requests' after-effects (events, relays) settle
    pids = _platform_pids()
    before = {pid: machine.cpu_seconds([pid]) for pid in pids}
    started = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    used = {pid: machine.cpu_seconds([pid]) - before[pid] for pid in pids}
    cores = os.cpu_count() or 1
    names = machine.process_names(pids)
    busiest = sorted(used.items(), key=lambda item: -item[1])[:5]
    return Idle(
        seconds=round(elapsed, 1),
        cpu_percent_of_machine=round(100 * sum(used.values()) / elapsed / cores, 2),
        resident_mb=round(machine.resident_bytes(_platform_pids()) / 2**20, 1),
        busiest=[
            (names.get(pid, str(pid))[:80], round(100 * cpu / elapsed / cores, 2))
            for pid, cpu in busiest
        ],
    )


async def _measure(p: Platform, plan: Plan, gateway_url: str, kafka: str) -> dict[str, Any]:
    idle = await _idle(plan.idle_seconds)
    log.info("idle: %s", idle)
    rows = await _interleaved(p, plan)
    rows.append(await _sequential_checkout(p, plan))
    for row in rows:
        log.info("%s", row)
    race = await _race(p)
    log.info("race: %s", race)
    # The checkouts above leave mails to send and facts to record: the seed's scenario runs
    # on a platform that has handled them, as the seed's test runs on one nobody just hit.
    settled = await backlog.wait_for_consumers(kafka, PLAINTEXT, timeout_seconds=300)
    log.info("consumers caught up %s s after the checkouts", settled)
    seed = await asyncio.to_thread(
        seed_load.run, gateway_url, p.shoppers, plan.seed_users, plan.seed_seconds
    )
    log.info("seed scenario: %s", seed)
    return {
        "idle": asdict(idle),
        "figures": [asdict(row) for row in rows],
        "race": asdict(race),
        "seed": {**asdict(seed), "passes_target": seed.passes_target},
    }


async def _age(p: Platform, plan: Plan) -> dict[str, Any]:
    """Drive checkouts (direct gRPC, 16 at once) and product updates through the platform."""
    shop = p.shop
    products = await shop.product_ids(50) or [shop.product_id]
    checkouts, updates = Samples(), Samples()

    async def checkout(i: int) -> bool:
        return await shop.grpc_checkout(p.shopper(i))

    async def refill(i: int) -> None:
        await shop.fill_cart(p.shopper(i))

    async def update(i: int) -> bool:
        number = len(updates.latencies) + updates.errors
        product = products[number % len(products)]
        return await shop.update_product(product, f"Aged description {number}")

    started = time.monotonic()
    await asyncio.gather(
        drive(
            checkout,
            checkouts,
            concurrency=CONCURRENCY,
            duration=24 * 3600,
            warmup=0,
            prepare=refill,
            max_calls=plan.aging_checkouts,
        ),
        drive(
            update,
            updates,
            concurrency=2,
            duration=24 * 3600,
            warmup=0,
            max_calls=plan.aging_updates,
        ),
    )
    return {
        "seconds": round(time.monotonic() - started, 1),
        "checkouts": asdict(figures("ageing checkouts (gRPC)", CONCURRENCY, checkouts)),
        "product_updates": asdict(figures("ageing product updates (gRPC)", 2, updates)),
    }


def _mesh_cost(quick: bool) -> dict[str, Any] | None:
    """The sidecar mesh's cost, from bench/mesh_cost.py when that module exists."""
    if not Path(__file__).with_name("mesh_cost.py").exists():
        return None
    from bench.mesh_cost import measure_mesh_cost

    log.info("measuring the mesh's cost (plain platform, then mesh mode)")
    try:
        figures: dict[str, Any] = measure_mesh_cost(seconds=5.0 if quick else 15.0)
    except Exception as error:  # the main figures stand without it
        log.exception("the mesh cost could not be measured")
        return {"error": repr(error)}
    return figures


async def _bench(plan: Plan, running: Any, log_dir: Path) -> dict[str, Any]:
    with (
        stack.health_hop(log_dir) as hop,
        stack.envoy_transcoder(running.grpc_addresses["catalog"], log_dir) as envoy,
    ):
        shop = Shop(running.base_url, envoy, hop, dict(running.grpc_addresses))
        try:
            p = await _set_up(shop, running.admin_email, running.admin_password)
            kafka = running.platform.infra.kafka_test_url()
            # The set-up's own events (sign-up mails, the new product's indexing) come first.
            await backlog.wait_for_consumers(kafka, PLAINTEXT, timeout_seconds=300)
            fresh = await _measure(p, plan, running.base_url, kafka)
            aging = await _age(p, plan)
            log.info("ageing: %s", aging)
            # Measured once the events of the ageing load are handled: aged, not still busy.
            aging["backlog_seconds"] = await backlog.wait_for_consumers(
                kafka, PLAINTEXT, timeout_seconds=1800
            )
            log.info("consumers caught up %s s after the ageing load", aging["backlog_seconds"])
            aged = await _measure(p, plan, running.base_url, kafka)
        finally:
            await shop.close()
    return {"fresh": fresh, "aging": aging, "aged": aged}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1"
    )
    parser.add_argument("--no-mesh", action="store_true", help="skip bench/mesh_cost.py")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    plan = Plan.of(args.quick)
    started = datetime.now(UTC)
    log.info("starting a private platform (takes a minute or two)")
    with stack.private_platform() as running:
        log_dir = Path(tempfile.gettempdir()) / "shopmesh-bench"
        log_dir.mkdir(parents=True, exist_ok=True)
        measured = uvloop.run(_bench(plan, running, log_dir))
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "plan": asdict(plan),
        "machine": machine.describe(),
        **measured,
    }
    if not args.no_mesh:
        results["mesh"] = _mesh_cost(plan.quick)
    written = write_results(results, args.results_dir)
    log.info("results written to %s", written)
    print(json.dumps({"results": str(written)}))  # noqa: T201 - the command's output


if __name__ == "__main__":
    main()
