"""Runs the seed's scenario (seed_scenario.py) with Locust and reads its figures."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.shop import Shopper
from launcher.config import repo_root

# The seed's thresholds (p95 ms) and the quarter of them the platform is asked to meet.
SEED_BUDGET_MS = {"all": 500, "get-products": 400, "get-cart": 300}
TARGET_BUDGET_MS = {name: budget / 4 for name, budget in SEED_BUDGET_MS.items()}
RAMP_SECONDS = 10


@dataclass(frozen=True)
class SeedFigures:
    users: int
    seconds: float
    requests: int
    failures: int
    rps: float
    p95_ms: dict[str, float]
    p50_ms: dict[str, float]

    @property
    def passes_target(self) -> bool:
        within = all(self.p95_ms.get(n, 1e9) < b for n, b in TARGET_BUDGET_MS.items())
        return within and self.failures == 0


def run(base_url: str, shoppers: list[Shopper], users: int, seconds: int) -> SeedFigures:
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as directory:
        folder = Path(directory)
        roster = folder / "shoppers.json"
        roster.write_text(json.dumps([{"user_id": s.user_id, "token": s.token} for s in shoppers]))
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(Path(__file__).with_name("seed_scenario.py")),
            "--headless",
            "--host",
            base_url,
            "--users",
            str(users),
            # The seed's k6 test ramps up to its 100 users (over 5 minutes) before holding
            # them; users started in the same second stay in step (each sleeps exactly 1 s)
            # and hit the gateway as one burst a second, which the seed never does. A 10 s
            # ramp spreads them as the seed's ramp does, in a run short enough for a bench.
            "--spawn-rate",
            str(max(1, users // RAMP_SECONDS)),
            "--run-time",
            f"{seconds}s",
            "--csv",
            str(folder / "seed"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        env = {"BENCH_SHOPPERS": str(roster)}
        subprocess.run(
            command,
            cwd=repo_root(),
            env={**os.environ, **env},
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rows = list(csv.DictReader((folder / "seed_stats.csv").open()))
    by_name = {("all" if row["Name"] == "Aggregated" else row["Name"]): row for row in rows}
    total = by_name["all"]
    return SeedFigures(
        users=users,
        seconds=float(seconds),
        requests=int(total["Request Count"]),
        failures=int(total["Failure Count"]),
        rps=round(float(total["Requests/s"]), 1),
        p95_ms={name: float(row["95%"]) for name, row in by_name.items()},
        p50_ms={name: float(row["50%"]) for name, row in by_name.items()},
    )
