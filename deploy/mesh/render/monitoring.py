"""SLO recording rules and multi-window burn-rate alerts (PrometheusRule)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from .manifest import Manifest, dump
from .policy import Policy, Workload

# Server-side gRPC codes that spend the error budget; client mistakes (INVALID_ARGUMENT,
# NOT_FOUND, PERMISSION_DENIED, ...) do not.
ERROR_CODES: Final = "UNKNOWN|INTERNAL|UNAVAILABLE|DEADLINE_EXCEEDED|DATA_LOSS"
# Multi-window, multi-burn-rate alerts (Google SRE workbook, chapter 5).
BURN_RATE_WINDOWS: Final = (
    ("critical", 14.4, "1h", "5m", "2m"),
    ("critical", 6.0, "6h", "30m", "15m"),
    ("warning", 1.0, "3d", "6h", "1h"),
)


def _ratio(numerator: str, denominator: str) -> str:
    # clamp_min keeps an idle service at ratio 0 instead of NaN.
    return f"{numerator} / clamp_min({denominator}, 1e-9)"


def _slo_rules(policy: Policy, workload: Workload) -> dict[str, Any]:
    slo = policy.setting(workload, "slo")
    name = workload.name
    if workload.is_gateway:
        total = 'gateway_http_requests_total{job="gateway"}'
        errors = 'gateway_http_requests_total{job="gateway",status=~"5.."}'
        le = slo["latency_threshold_seconds"]
        fast = f'gateway_http_request_duration_seconds_bucket{{job="gateway",le="{le}"}}'
        count = 'gateway_http_request_duration_seconds_count{job="gateway"}'
    else:
        total = f'grpc_server_handled_total{{job="{name}"}}'
        errors = f'grpc_server_handled_total{{job="{name}",grpc_code=~"{ERROR_CODES}"}}'
        le = slo["latency_threshold_seconds"]
        fast = f'grpc_server_handling_seconds_bucket{{job="{name}",le="{le}"}}'
        count = f'grpc_server_handling_seconds_count{{job="{name}"}}'
    windows = sorted({w for _, _, long, short, _ in BURN_RATE_WINDOWS for w in (long, short)})
    rules: list[dict[str, Any]] = []
    for window in windows:
        rules.append(
            {
                "record": "slo:error_ratio:rate" + window,
                "expr": _ratio(f"sum(rate({errors}[{window}]))", f"sum(rate({total}[{window}]))"),
                "labels": {"service": name},
            }
        )
        rules.append(
            {
                "record": "slo:slow_ratio:rate" + window,
                "expr": "1 - "
                + _ratio(f"sum(rate({fast}[{window}]))", f"sum(rate({count}[{window}]))"),
                "labels": {"service": name},
            }
        )
    budgets = {
        "Availability": ("slo:error_ratio:rate", 1 - float(slo["availability"])),
        "Latency": ("slo:slow_ratio:rate", 1 - float(slo["latency_target"])),
    }
    for kind, (record, budget) in budgets.items():
        for severity, burn, long, short, duration in BURN_RATE_WINDOWS:
            threshold = round(burn * budget, 6)
            selector = f'{{service="{name}"}}'
            rules.append(
                {
                    "alert": f"{kind}BudgetBurn",
                    "expr": (
                        f"{record}{long}{selector} > {threshold}"
                        f" and {record}{short}{selector} > {threshold}"
                    ),
                    "for": duration,
                    "labels": {
                        "severity": severity,
                        "service": name,
                        "slo": kind.lower(),
                        "window": long,
                    },
                    "annotations": {
                        "summary": f"{name}: {kind.lower()} budget burns {burn}x too fast ({long})",
                        "description": (
                            f"{name} spends its 30-day {kind.lower()} budget at {burn} times the "
                            f"sustainable rate over {long} and {short}."
                        ),
                        "runbook": "deploy/README.md#alerts",
                    },
                }
            )
    return {"name": f"slo-{name}", "rules": rules}


def slo_rules(policy: Policy) -> Manifest:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "shopmesh-slo", "labels": {"release": "prometheus"}},
        "spec": {"groups": [_slo_rules(policy, w) for w in policy.workloads]},
    }


def files(policy: Policy) -> dict[Path, str]:
    return {Path("k8s/base/monitoring/slo-rules.yaml"): dump([slo_rules(policy)])}
