"""The gRPC service config of a channel: default deadline, and retries for reads only."""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from typing import Any, Final

from google.protobuf import descriptor, descriptor_pb2, descriptor_pool

__all__ = [
    "READ_PREFIXES",
    "channel_options",
    "full_service_name",
    "read_methods",
    "service_config_json",
]

# AIP standard methods without side effects; only these are retried automatically.
READ_PREFIXES: Final = ("Get", "List", "BatchGet", "Search", "Suggest")
_SAFE_LEVELS: Final = frozenset(
    {
        descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS,
        descriptor_pb2.MethodOptions.IDEMPOTENT,
    }
)


def full_service_name(service: str) -> str:
    """`catalog` -> `shop.catalog.v1.CatalogService` (the repository's naming rule)."""
    return f"shop.{service}.v1.{service.capitalize()}Service"


def read_methods(full_name: str, pool: descriptor_pool.DescriptorPool | None = None) -> list[str]:
    """Methods of `full_name` that are safe to retry, from its descriptor."""
    pool = pool or descriptor_pool.Default()
    service = _find_service(full_name, pool)
    if service is None:
        return []
    return [m.name for m in service.methods if _is_read(m)]


def _find_service(
    full_name: str, pool: descriptor_pool.DescriptorPool
) -> descriptor.ServiceDescriptor | None:
    try:
        return pool.FindServiceByName(full_name)
    except KeyError:
        pass
    # The generated module registers the descriptor when imported; a caller may create the
    # channel before importing its stub.
    package, _, _ = full_name.rpartition(".")
    short = package.split(".")[1] if package.count(".") >= 2 else ""
    try:
        importlib.import_module(f"{package}.{short}_pb2")
        return pool.FindServiceByName(full_name)
    except (ImportError, KeyError):
        return None


def _is_read(method: descriptor.MethodDescriptor) -> bool:
    if method.client_streaming:
        return False
    level = method.GetOptions().idempotency_level
    return level in _SAFE_LEVELS or method.name.startswith(READ_PREFIXES)


def service_config_json(
    full_name: str,
    reads: Sequence[str],
    *,
    timeout_seconds: float | None,
    max_attempts: int = 4,
) -> str:
    """The service config of a channel; `timeout_seconds` None leaves deadlines to each call.

    grpc.aio applies a service-config timeout from a clock that can be a second or two behind
    the call's start on a busy process: a 5 s timeout ended calls after 3-3.8 s (the ~3.65 s
    504s of the gateway at 64 in flight) and capped longer per-call deadlines. The runtime's
    channels therefore set no timeout here and give every call its own deadline instead.
    """
    timing: dict[str, object] = {}
    if timeout_seconds is not None:
        timing["timeout"] = f"{timeout_seconds:.3f}s"
    method_config: list[dict[str, object]] = [{"name": [{}], **timing}]
    if reads:
        method_config.append(
            {
                "name": [{"service": full_name, "method": name} for name in reads],
                **timing,
                "retryPolicy": {
                    "maxAttempts": max_attempts,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        )
    return json.dumps(
        {
            "methodConfig": method_config,
            # Retries stop when more than half of recent calls failed: no retry storms.
            "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
        }
    )


def channel_options(
    full_name: str, *, timeout_seconds: float | None = None, keepalive_seconds: float
) -> list[tuple[str, Any]]:
    """Options of every channel to a service: its service config, retries and keepalive.

    Channels of the runtime and the gateway pass no `timeout_seconds`: each of their calls
    carries its own deadline (see `service_config_json`)."""
    config = service_config_json(
        full_name, read_methods(full_name), timeout_seconds=timeout_seconds
    )
    return [
        ("grpc.service_config", config),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", int(keepalive_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
