"""What the benchmark runs against: a private platform on free ports (as the end-to-end tests
start it), the bare health server, and Envoy's gRPC-JSON transcoder in front of the catalog."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from launcher.config import repo_root
from launcher.sidecars.meshmode import envoy_binary
from launcher.testing import RunningPlatform, discard, session_infrastructure, start_platform

log = logging.getLogger("bench")

# One load generator stands for many shoppers behind one IP: lift the edge limits for the run.
LIFTED_LIMITS = {
    "GATEWAY_RATE_LIMIT_PER_MINUTE": str(10**9),
    "GATEWAY_USER_RATE_LIMIT_PER_MINUTE": str(10**9),
    "GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE": str(10**9),
}
# Processes of the benchmark itself (load helpers, Envoy), left out of the platform's figures.
BENCH_PROCESSES: set[int] = set()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def private_platform() -> Iterator[RunningPlatform]:
    """Every store, service and the gateway on free ports, with the demo catalog loaded."""
    os.environ.update(LIFTED_LIMITS)
    infra = session_infrastructure()
    try:
        running = start_platform(infra, load_demo=True)
        try:
            yield running
        finally:
            running.platform.stop()
    finally:
        discard(infra)


def _wait(process: subprocess.Popen[bytes], ready: object, what: str, log_file: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited; see {log_file}")
        if callable(ready) and ready():
            return
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"{what} did not start; see {log_file}")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def _process(command: list[str], log_file: Path, ready: object, what: str) -> Iterator[None]:
    with log_file.open("wb") as output:
        process = subprocess.Popen(command, cwd=repo_root(), stdout=output, stderr=output)
    BENCH_PROCESSES.add(process.pid)
    try:
        _wait(process, ready, what, log_file)
        yield
    finally:
        BENCH_PROCESSES.discard(process.pid)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def health_hop(log_dir: Path) -> Iterator[str]:
    """The address of a bare grpc.aio health server in its own process."""
    port = free_port()
    script = str(Path(__file__).with_name("health_hop.py"))
    with _process(
        [sys.executable, script, str(port)],
        log_dir / "bench-health-hop.log",
        lambda: _listening(port),
        "the health hop server",
    ):
        yield f"127.0.0.1:{port}"


def descriptor_set(target: Path) -> Path:
    """Our contracts and their imports as one FileDescriptorSet (what Envoy reads)."""
    from tools.gen_proto import buf_executable, tool_env

    subprocess.run(
        [buf_executable(), "build", "--as-file-descriptor-set", "-o", str(target)],
        cwd=repo_root(),
        env=tool_env(),
        check=True,
    )
    return target


def envoy_config(descriptor: Path, port: int, catalog_address: str) -> dict[str, object]:
    host, _, upstream_port = catalog_address.rpartition(":")
    any_type = "type.googleapis.com/envoy.extensions"
    return {
        "static_resources": {
            "listeners": [
                {
                    "name": "rest",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": {
                                        "@type": f"{any_type}.filters.network."
                                        "http_connection_manager.v3.HttpConnectionManager",
                                        "stat_prefix": "rest",
                                        "route_config": {
                                            "virtual_hosts": [
                                                {
                                                    "name": "catalog",
                                                    "domains": ["*"],
                                                    "routes": [
                                                        {
                                                            "match": {"prefix": "/"},
                                                            "route": {
                                                                "cluster": "catalog",
                                                                "timeout": "10s",
                                                            },
                                                        }
                                                    ],
                                                }
                                            ]
                                        },
                                        "http_filters": [
                                            {
                                                "name": "envoy.filters.http.grpc_json_transcoder",
                                                "typed_config": {
                                                    "@type": f"{any_type}.filters.http."
                                                    "grpc_json_transcoder.v3.GrpcJsonTranscoder",
                                                    "proto_descriptor": str(descriptor),
                                                    "services": ["shop.catalog.v1.CatalogService"],
                                                    "convert_grpc_status": True,
                                                },
                                            },
                                            {
                                                "name": "envoy.filters.http.router",
                                                "typed_config": {
                                                    "@type": f"{any_type}.filters.http.router."
                                                    "v3.Router"
                                                },
                                            },
                                        ],
                                    },
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "catalog",
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "typed_extension_protocol_options": {
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                            "@type": f"{any_type}.upstreams.http.v3.HttpProtocolOptions",
                            "explicit_http_config": {"http2_protocol_options": {}},
                        }
                    },
                    "load_assignment": {
                        "cluster_name": "catalog",
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {
                                                    "address": host or "127.0.0.1",
                                                    "port_value": int(upstream_port),
                                                }
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                }
            ],
        }
    }


@contextmanager
def envoy_transcoder(catalog_address: str, log_dir: Path) -> Iterator[str]:
    """Base URL of Envoy's grpc_json_transcoder in front of the catalog service."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-envoy-") as directory:
        descriptor = descriptor_set(Path(directory) / "shop.binpb")
        config = Path(directory) / "envoy.json"
        config.write_text(json.dumps(envoy_config(descriptor, port, catalog_address)))
        command = [
            str(envoy_binary()),
            "-c",
            str(config),
            "--use-dynamic-base-id",
            "--log-level",
            "warn",
        ]
        base_url = f"http://127.0.0.1:{port}"
        with _process(command, log_dir / "bench-envoy.log", lambda: _listening(port), "envoy"):
            yield base_url


def gateway_ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@dataclass(frozen=True)
class Addresses:
    gateway: str
    envoy: str
    health_hop: str
    grpc: dict[str, str]
