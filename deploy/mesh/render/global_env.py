"""The cluster-wide ConfigMap environment (global.env)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from .policy import Policy

STATE_DIR: Final = "/tmp/shop-state"


def global_config(policy: Policy) -> str:
    lines = [
        "ENVIRONMENT=production",
        "LOG_LEVEL=INFO",
        "METRICS_ENABLED=true",
        "TRACING_ENABLED=true",
        f"GRPC_GRACE_SECONDS={policy.defaults['grace_seconds']}",
        f"SHOP_STATE_DIR={STATE_DIR}",
        "JWT_ISSUER=shopmesh",
        "JWT_AUDIENCE=shopmesh",
        "KAFKA_BOOTSTRAP_SERVERS=kafka:9092",
        f"OTEL_EXPORTER_OTLP_ENDPOINT={policy.platform['otlp_endpoint']}",
    ]
    lines += [
        f"{name.upper()}_SERVICE_ADDR={name}:{spec['port']}"
        for name, spec in policy.services.items()
    ]
    return "\n".join(lines) + "\n"


def files(policy: Policy) -> dict[Path, str]:
    return {Path("k8s/base/config/global.env"): global_config(policy)}
