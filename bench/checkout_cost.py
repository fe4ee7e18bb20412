"""What one checkout costs the whole platform in CPU, process by process.

Starts a private platform on free ports (as `make bench` does), then runs 16 shoppers that
check out as fast as answers come back (each order preceded by an untimed AddItem, so the
cost per order includes refilling the cart) and reads every process's CPU time from /proc
before and after. Prints orders/s, p50, and milliseconds of CPU per order per component
(each service, the gateway's workers, Kafka, Elasticsearch, FerretDB, PostgreSQL summed over
its backends, Valkey, the mail capture), plus what the event side did per order: records
written per topic and Elasticsearch's operations.

    .venv/bin/python -m bench.checkout_cost                  # 3 windows of 20 s
    .venv/bin/python -m bench.checkout_cost --runs 5 --seconds 30 --json out.json

Figures depend on what else runs on the machine (the 1-minute load is printed with each
window): compare windows of one run, or runs under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import uvloop
from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]

from bench import machine, stack
from bench.drive import Samples, drive
from bench.run import CONCURRENCY, Platform, _set_up
from bench.shop import Shop
from mesh.events.security import PLAINTEXT, KafkaSecurity
from mesh.events.topics import ALL_TOPICS

log = logging.getLogger("bench")

# Command-line fragments that name a process's component, first match wins.
_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("kafka.Kafka", "kafka"),
    ("org.elasticsearch", "elasticsearch"),
    ("postgres:", "postgres"),  # a backend (those serving FerretDB too)
    ("ferretdb", "ferretdb"),
    ("bin/postgres", "postgres"),
    ("valkey", "valkey"),
    ("launcher.mailcapture", "mailcapture"),
    ("-m services.", ""),  # filled in below with the service's name
    ("gateway", "gateway"),
    ("multiprocessing.spawn", "gateway"),  # the gateway's workers
)


def component_of(command: str) -> str:
    """The platform component a process belongs to, from its command line."""
    for fragment, name in _COMPONENTS:
        if fragment in command:
            if name:
                return name
            return command.split("-m services.", 1)[1].split()[0].split(".")[0]
    return "other"


@dataclass(frozen=True)
class Window:
    seconds: float
    orders: int
    errors: int
    orders_per_second: float
    p50_ms: float
    cpu_ms_per_order: dict[str, float]
    total_cpu_ms_per_order: float
    records_per_order: dict[str, float]
    elasticsearch_per_order: dict[str, float]
    load_average_1m: float


class CpuMeter:
    """CPU seconds per component over a window; a process started meanwhile counts from 0.

    PostgreSQL backends that exit during the window take their CPU with them: connection
    pools keep theirs open, so this loses little.
    """

    def __init__(self) -> None:
        self._start: dict[int, float] = {}

    def _pids(self) -> dict[int, str]:
        pids = [pid for pid in machine.descendants(os.getpid()) if pid not in stack.BENCH_PROCESSES]
        return machine.process_names(pids)

    def start(self) -> None:
        self._start = {pid: machine.cpu_seconds([pid]) for pid in self._pids()}

    def stop(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for pid, command in self._pids().items():
            delta = machine.cpu_seconds([pid]) - self._start.get(pid, 0.0)
            name = component_of(command)
            used[name] = used.get(name, 0.0) + max(0.0, delta)
        return used


class EventCounters:
    """Records on every event topic and Elasticsearch's operation counters."""

    def __init__(self, kafka: str, security: KafkaSecurity, elasticsearch: str) -> None:
        self._kafka = kafka
        self._security = security
        self._elasticsearch = elasticsearch

    async def records(self) -> dict[str, int]:
        try:
            return await self._records()
        except Exception as error:  # counting is a bonus; the CPU figures stand without it
            log.warning("could not read the topics' offsets: %r", error)
            return {}

    async def _records(self) -> dict[str, int]:
        consumer: Any = AIOKafkaConsumer(
            bootstrap_servers=self._kafka, **self._security.client_options()
        )
        await consumer.start()
        try:
            # The consumer's public topics() fetches this too, but keeps only the names.
            cluster = await consumer._client.fetch_all_metadata()
            partitions = [
                TopicPartition(topic, partition)
                for topic in ALL_TOPICS
                for partition in cluster.partitions_for_topic(topic) or ()
            ]
            ends = await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()
        counts: dict[str, int] = {}
        for partition, end in ends.items():
            counts[partition.topic] = counts.get(partition.topic, 0) + int(end)
        return counts

    async def elasticsearch(self) -> dict[str, int]:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.get(f"{self._elasticsearch}/_nodes/_local/stats/indices")
            response.raise_for_status()
        node = next(iter(response.json()["nodes"].values()))["indices"]
        return {
            "index": node["indexing"]["index_total"],
            "get": node["get"]["total"],
            "search": node["search"]["query_total"],
            "refresh": node["refresh"]["total"],
            "merge": node["merges"]["total"],
            "flush": node["flush"]["total"],
        }


def _per_order(
    before: Mapping[str, int], after: Mapping[str, int], orders: int
) -> dict[str, float]:
    return {
        key: round((after.get(key, 0) - before.get(key, 0)) / max(orders, 1), 2)
        for key in sorted(after)
        if after.get(key, 0) != before.get(key, 0)
    }


async def _window(p: Platform, counters: EventCounters, seconds: float) -> Window:
    shop = p.shop

    async def checkout(i: int) -> bool:
        return await shop.paid_checkout(p.shopper(i))

    async def refill(i: int) -> None:
        await shop.fill_cart(p.shopper(i))

    # Let the consumers finish what earlier windows left, so each window pays for its own.
    await asyncio.sleep(3)
    meter = CpuMeter()
    records_before, es_before = await counters.records(), await counters.elasticsearch()
    samples = Samples()
    meter.start()
    started = time.perf_counter()
    await drive(
        checkout, samples, concurrency=CONCURRENCY, duration=seconds, warmup=0, prepare=refill
    )
    # The event side finishes a little after the last answer: give it its time in the window.
    await asyncio.sleep(2)
    used = meter.stop()
    elapsed = time.perf_counter() - started
    records_after, es_after = await counters.records(), await counters.elasticsearch()
    orders = len(samples.latencies)
    per_order = {
        name: round(cpu / max(orders, 1) * 1000, 1)
        for name, cpu in sorted(used.items(), key=lambda item: -item[1])
    }
    return Window(
        seconds=round(elapsed, 1),
        orders=orders,
        errors=samples.errors,
        orders_per_second=round(orders / (samples.seconds or 1e-9), 1),
        p50_ms=round(statistics.median(samples.latencies) * 1000, 1) if orders else 0.0,
        cpu_ms_per_order=per_order,
        total_cpu_ms_per_order=round(sum(per_order.values()), 1),
        records_per_order=_per_order(records_before, records_after, orders),
        elasticsearch_per_order=_per_order(es_before, es_after, orders),
        load_average_1m=round(os.getloadavg()[0], 2),
    )


def render(windows: list[Window]) -> str:
    """The windows side by side: one column each, then the median."""
    components = sorted(
        {name for w in windows for name in w.cpu_ms_per_order},
        key=lambda name: -statistics.median(w.cpu_ms_per_order.get(name, 0.0) for w in windows),
    )
    heads = [f"run {i + 1}" for i in range(len(windows))] + ["median"]
    lines = ["| figure | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]

    def row(label: str, values: list[float]) -> None:
        cells = [f"{v:g}" for v in values] + [f"{statistics.median(values):g}"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("orders/s", [w.orders_per_second for w in windows])
    row("p50 ms", [w.p50_ms for w in windows])
    row("errors", [w.errors for w in windows])
    row("load average (1 min)", [w.load_average_1m for w in windows])
    row("CPU ms/order, total", [w.total_cpu_ms_per_order for w in windows])
    for name in components:
        row(f"CPU ms/order, {name}", [w.cpu_ms_per_order.get(name, 0.0) for w in windows])
    for topic in sorted({t for w in windows for t in w.records_per_order}):
        row(f"records/order, {topic}", [w.records_per_order.get(topic, 0.0) for w in windows])
    for op in sorted({o for w in windows for o in w.elasticsearch_per_order}):
        row(f"elasticsearch {op}/order", [w.elasticsearch_per_order.get(op, 0.0) for w in windows])
    return "\n".join(lines)


def render_idle(idle: Mapping[str, float]) -> str:
    lines = ["| idle CPU, ms per second | |", "|---|---|"]
    lines += [f"| {name} | {value:g} |" for name, value in idle.items()]
    return "\n".join(lines)


async def idle_cpu(seconds: float) -> dict[str, float]:
    """Milliseconds of CPU per second per component while nobody calls the platform: the
    part of a busy window's cost that is not the orders'."""
    await asyncio.sleep(5)  # the set-up's events drain
    meter = CpuMeter()
    meter.start()
    await asyncio.sleep(seconds)
    used = meter.stop()
    return {
        name: round(cpu / seconds * 1000, 1)
        for name, cpu in sorted(used.items(), key=lambda item: -item[1])
        if cpu > 0
    }


async def _measure(
    running: Any, runs: int, seconds: float, idle_seconds: float
) -> tuple[dict[str, float], list[Window]]:
    # The broker's loopback plaintext listener of a test session reads every topic.
    counters = EventCounters(
        running.platform.infra.kafka_test_url(),
        PLAINTEXT,
        running.service_environment("search")["ELASTICSEARCH_URL"],
    )
    shop = Shop(running.base_url, "http://127.0.0.1:1", "127.0.0.1:1", dict(running.grpc_addresses))
    try:
        p = await _set_up(shop, running.admin_email, running.admin_password)
        idle = await idle_cpu(idle_seconds)
        log.info("idle CPU, ms per second: %s", idle)
        windows = []
        for run in range(runs):
            window = await _window(p, counters, seconds)
            log.info("window %d: %s", run + 1, window)
            windows.append(window)
        return idle, windows
    finally:
        await shop.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="measurement windows (default 3)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each window")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU first")
    parser.add_argument("--json", type=Path, help="also write the windows as JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for chatty in ("aiokafka", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    log.info("starting a private platform (takes a minute or two)")
    with stack.private_platform() as running:
        idle, windows = uvloop.run(_measure(running, args.runs, args.seconds, args.idle))
    if args.json:
        described = {
            "machine": machine.describe(),
            "idle_cpu_ms_per_second": idle,
            "windows": [asdict(w) for w in windows],
        }
        args.json.write_text(json.dumps(described, indent=2) + "\n")
    sys.stdout.write(render(windows) + "\n\n" + render_idle(idle) + "\n")


if __name__ == "__main__":
    main()
