"""The results as JSON and as the Markdown table of bench/results/latest.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HOP = "plain grpc.aio health hop"
GRPC_GET = "direct gRPC GetProduct"
GATEWAY_GET = "gateway GET /v1/products/{id}"
ENVOY_GET = "envoy transcoder GET /v1/products/{id}"
GATEWAY_LIST = "gateway GET /v1/products?page_size=20"
CHECKOUT_16 = "checkout x16 (POST /v1/orders)"
CHECKOUT_1 = "checkout alone (POST /v1/orders)"


def _row(phase: dict[str, Any], scenario: str) -> dict[str, Any]:
    for row in phase["figures"]:
        if row["scenario"] == scenario:
            found: dict[str, Any] = row
            return found
    raise KeyError(scenario)


def _ratio(phase: dict[str, Any], top: str, bottom: str) -> float:
    below = _row(phase, bottom)["rps"]
    return round(_row(phase, top)["rps"] / below, 3) if below else 0.0


def targets(phase: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(figure, target, measured, met) for each "Done when" figure of one phase."""
    seed, race, idle = phase["seed"], phase["race"], phase["idle"]
    get_vs_hop = _ratio(phase, GATEWAY_GET, HOP)
    get_vs_envoy = _ratio(phase, GATEWAY_GET, ENVOY_GET)
    list_vs_hop = _ratio(phase, GATEWAY_LIST, HOP)
    alone = _row(phase, CHECKOUT_1)
    crowd = _row(phase, CHECKOUT_16)
    p95 = seed["p95_ms"]
    return [
        (
            "seed scenario, 100 users: p95 all / products / cart (ms), failures",
            "< 125 / 100 / 75, 0",
            f"{p95.get('all', 0):.0f} / {p95.get('get-products', 0):.0f} / "
            f"{p95.get('get-cart', 0):.0f}, {seed['failures']} of {seed['requests']}",
            bool(seed["passes_target"]),
        ),
        ("gateway GET product / health hop", ">= 0.35", f"{get_vs_hop}", get_vs_hop >= 0.35),
        ("gateway GET product / Envoy", ">= 0.8", f"{get_vs_envoy}", get_vs_envoy >= 0.8),
        ("gateway list page / health hop", ">= 0.2", f"{list_vs_hop}", list_vs_hop >= 0.2),
        (
            "one checkout alone, p50 ms",
            "< 150",
            f"{alone['p50_ms']}",
            alone["p50_ms"] < 150 and alone["errors"] == 0,
        ),
        (
            "16 shoppers at once: orders/s, errors",
            ">= 50, 0",
            f"{crowd['rps']}, {crowd['errors']}",
            crowd["rps"] >= 50 and crowd["errors"] == 0,
        ),
        (
            "10 buyers race for 5 units: paid, 504",
            "5, 0",
            f"{race['paid']}, {race['timeouts_504']}",
            race["paid"] == 5 and race["timeouts_504"] == 0,
        ),
        (
            "idle platform, % of the machine",
            "< 5",
            f"{idle['cpu_percent_of_machine']}",
            idle["cpu_percent_of_machine"] < 5,
        ),
        (
            "resident memory of the platform, MB",
            "< 2560",
            f"{idle['resident_mb']}",
            idle["resident_mb"] < 2560,
        ),
    ]


def markdown(results: dict[str, Any]) -> str:
    fresh, aged = results["fresh"], results["aged"]
    plan, aging = results["plan"], results["aging"]
    lines = [
        "# make bench",
        "",
        f"Run {results['started']} to {results['finished']}"
        f"{' (BENCH_QUICK: short rounds, small ageing)' if plan['quick'] else ''}. "
        f"Request scenarios: 16 in flight, {plan['rounds']} interleaved rounds of "
        f"{plan['seconds_per_round']} s each. Ageing between the two phases: "
        f"{aging['checkouts']['requests']} checkouts and "
        f"{aging['product_updates']['requests']} product updates in {aging['seconds']} s"
        + (
            f"; its events were all handled {aging['backlog_seconds']} s after it ended, and"
            " the aged figures were taken from then on."
            if "backlog_seconds" in aging
            else "."
        ),
        "",
        "| target (issue 10) | wanted | fresh | aged | met fresh / aged |",
        "|---|---|---|---|---|",
    ]
    for (name, wanted, now, met), (_, _, later, met_later) in zip(
        targets(fresh), targets(aged), strict=True
    ):
        flags = f"{'yes' if met else 'no'} / {'yes' if met_later else 'no'}"
        lines.append(f"| {name} | {wanted} | {now} | {later} | {flags} |")
    lines += [
        "",
        "| scenario | phase | in flight | rps | p50 ms | p95 ms | p99 ms | ok | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase_name, phase in (("fresh", fresh), ("aged", aged)):
        for row in phase["figures"]:
            lines.append(
                f"| {row['scenario']} | {phase_name} | {row['concurrency']} | {row['rps']} | "
                f"{row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['requests']} | "
                f"{row['errors']} |"
            )
    lines += ["", "Seed scenario (Locust, 100 users, p50 / p95 ms by request):", ""]
    for phase_name, phase in (("fresh", fresh), ("aged", aged)):
        seed = phase["seed"]
        parts = ", ".join(
            f"{name} {seed['p50_ms'][name]:.0f} / {seed['p95_ms'][name]:.0f}"
            for name in sorted(seed["p95_ms"])
        )
        lines.append(f"- {phase_name}: {seed['rps']} requests/s; {parts}")
    lines += ["", "Busiest processes while idle (% of the machine):", ""]
    for phase_name, phase in (("fresh", fresh), ("aged", aged)):
        busiest = "; ".join(f"{name} {share}" for name, share in phase["idle"]["busiest"])
        lines.append(f"- {phase_name}: {busiest}")
    if results.get("mesh"):
        lines += ["", *_mesh_lines(results["mesh"])]
    machine = results["machine"]
    lines += ["", "Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()), ""]
    return "\n".join(lines)


def _mesh_lines(mesh: dict[str, Any]) -> list[str]:
    """The sidecar mesh's cost (bench/mesh_cost.py): plain platform against mesh mode."""
    if "error" in mesh:
        return [f"Mesh cost: not measured ({mesh['error']})."]
    lines = [
        "Mesh cost (bench/mesh_cost.py; plain platform, then the same behind Envoy sidecars):",
        "",
        "| scenario | plain rps | mesh rps | plain p50 ms | mesh p50 ms | added p50 ms per hop |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for scenario, row in mesh.items():
        if not isinstance(row, dict) or "plain" not in row:
            continue
        plain, meshed = row["plain"], row["mesh"]
        lines.append(
            f"| {scenario} | {plain['rps']} | {meshed['rps']} | {plain['p50_ms']} | "
            f"{meshed['p50_ms']} | {row.get('added_p50_ms_per_hop', '')} |"
        )
    return lines


def write_results(results: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = directory / f"bench-{stamp}.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (directory / f"bench-{stamp}.md").write_text(table)
    (directory / "latest.md").write_text(table)
    return target
