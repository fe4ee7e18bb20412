"""Envoy sidecar bootstraps for running the mesh locally, from the same policy as the Istio
objects: STRICT mTLS with SPIFFE identities, per-method RBAC on the inbound side (what the
AuthorizationPolicy allows), timeouts, retries, connection pools and outlier detection per route
on the outbound side (what the VirtualService and DestinationRule say).

Nothing here is written to deploy/: the ports and files depend on the machine, so the local
launcher calls `bootstrap` with its own `SidecarPlan`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .policy import Policy, RouteSettings, Workload, default_route, method_routes, principal

LOOPBACK: Final = "127.0.0.1"
CERTIFICATE_SECRET: Final = "default"
INBOUND_CLUSTER: Final = "inbound|app"
TLS_SOCKET: Final = "envoy.transport_sockets.tls"
_TYPES: Final = "type.googleapis.com/envoy.extensions"
ACCESS_LOG_FORMAT: Final = (
    "[%START_TIME%] %DOWNSTREAM_LOCAL_ADDRESS% %REQ(:PATH)% status=%RESPONSE_CODE%"
    " grpc=%GRPC_STATUS% flags=%RESPONSE_FLAGS% details=%RESPONSE_CODE_DETAILS%"
    " peer=%DOWNSTREAM_PEER_URI_SAN% upstream=%UPSTREAM_HOST%"
    " attempts=%UPSTREAM_REQUEST_ATTEMPT_COUNT%"
    " %DURATION%ms\n"
)


@dataclass(frozen=True)
class SidecarPlan:
    """Where one workload's sidecar listens and which files hold its identity.

    `inbound` is the workload's public mTLS port (None for the gateway, which is the edge);
    `app` is the private loopback port of the application behind it; `outbound` maps each
    upstream service to the plaintext loopback port the application dials; `peers` maps each
    upstream to the inbound ports of its replicas.
    """

    workload: str
    namespace: str
    admin: int
    certificate_sds: Path
    trusted_ca: Path
    inbound: int | None = None
    app: int | None = None
    outbound: Mapping[str, int] = field(default_factory=dict)
    peers: Mapping[str, Sequence[int]] = field(default_factory=dict)


def spiffe_id(policy: Policy, namespace: str, workload: str) -> str:
    """The identity Istio gives the workload's ServiceAccount."""
    return "spiffe://" + principal(policy, namespace, workload)


def bootstrap(policy: Policy, plan: SidecarPlan) -> dict[str, Any]:
    """A complete Envoy bootstrap (v3) for one workload's sidecar."""
    workload = policy.workload(plan.workload)
    listeners: list[dict[str, Any]] = []
    clusters: list[dict[str, Any]] = []
    if plan.inbound is not None:
        if plan.app is None:
            raise ValueError(f"{plan.workload}: an inbound listener needs the app's port")
        listeners.append(_inbound_listener(policy, workload, plan))
        clusters.append(_static_cluster(INBOUND_CLUSTER, [plan.app], connect_timeout="1s"))
    for upstream, port in sorted(plan.outbound.items()):
        listeners.append(_outbound_listener(policy, policy.workload(upstream), port))
        clusters.append(_outbound_cluster(policy, policy.workload(upstream), plan))
    return {
        "node": {"id": f"{plan.workload}-sidecar", "cluster": plan.workload},
        "admin": {"address": _address(plan.admin)},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }


# Inbound: STRICT mTLS and RBAC --------------------------------------------------------------


def rbac_filter(policy: Policy, workload: Workload, namespace: str) -> dict[str, Any]:
    """Envoy RBAC allowing exactly the callers the policy lists per method; deny otherwise."""
    grpc_service = workload.spec["grpc_service"]
    by_callers: dict[tuple[str, ...], list[str]] = {}
    for method, callers in policy.method_callers(workload.name).items():
        by_callers.setdefault(tuple(sorted(callers)), []).append(f"/{grpc_service}/{method}")
    policies: dict[str, Any] = {
        "callers:" + ",".join(callers): {
            "permissions": [{"or_rules": {"rules": [_path(p) for p in sorted(paths)]}}],
            "principals": [
                {"authenticated": {"principal_name": {"exact": spiffe_id(policy, namespace, c)}}}
                for c in callers
            ],
        }
        for callers, paths in sorted(by_callers.items())
    }
    if policy.mesh_wide_paths:
        namespace_prefix = f"spiffe://{policy.raw['trust_domain']}/ns/{namespace}/"
        policies["mesh-wide"] = {
            "permissions": [
                {"or_rules": {"rules": [_path(p) for p in sorted(policy.mesh_wide_paths)]}}
            ],
            "principals": [{"authenticated": {"principal_name": {"prefix": namespace_prefix}}}],
        }
    return {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": f"{_TYPES}.filters.http.rbac.v3.RBAC",
            "rules": {"action": "ALLOW", "policies": policies},
        },
    }


def _path(path: str) -> dict[str, Any]:
    return {"url_path": {"path": {"exact": path}}}


def _inbound_listener(policy: Policy, workload: Workload, plan: SidecarPlan) -> dict[str, Any]:
    assert plan.inbound is not None
    routes = [{"match": {"prefix": "/"}, "route": {"cluster": INBOUND_CLUSTER, "timeout": "0s"}}]
    manager = _connection_manager(
        "inbound",
        routes,
        [rbac_filter(policy, workload, plan.namespace)],
    )
    tls = {
        "@type": f"{_TYPES}.transport_sockets.tls.v3.DownstreamTlsContext",
        "require_client_certificate": True,
        "common_tls_context": {
            **_identity(plan),
            "validation_context": {"trusted_ca": {"filename": str(plan.trusted_ca)}},
            "alpn_protocols": ["h2"],
        },
    }
    return {
        "name": "inbound",
        "address": _address(plan.inbound),
        "filter_chains": [
            {
                "filters": [manager],
                "transport_socket": {"name": TLS_SOCKET, "typed_config": tls},
            }
        ],
    }


# Outbound: routes with timeouts and retries, mTLS to the peer -------------------------------


def route_table(policy: Policy, upstream: Workload) -> list[tuple[str | None, RouteSettings]]:
    """(gRPC path or None for the rest, settings) in match order, as the VirtualService."""
    grpc_service = upstream.spec["grpc_service"]
    table: list[tuple[str | None, RouteSettings]] = [
        (f"/{grpc_service}/{method}", settings)
        for method, settings in method_routes(policy, upstream).items()
    ]
    table.append((None, default_route(policy, upstream)))
    return table


def _outbound_route(cluster: str, path: str | None, settings: RouteSettings) -> dict[str, Any]:
    match = {"path": path} if path is not None else {"prefix": "/"}
    return {
        "match": match,
        "route": {
            "cluster": cluster,
            "timeout": settings.timeout,
            "retry_policy": {
                "retry_on": settings.retry_on,
                "num_retries": settings.attempts,
                "per_try_timeout": settings.per_try_timeout,
                # Istio's default: a retry goes to another replica when there is one.
                "retry_host_predicate": [
                    {
                        "name": "envoy.retry_host_predicates.previous_hosts",
                        "typed_config": {
                            "@type": f"{_TYPES}.retry.host.previous_hosts.v3.PreviousHostsPredicate"
                        },
                    }
                ],
                "host_selection_retry_max_attempts": 5,
            },
        },
    }


def outbound_cluster_name(upstream: str) -> str:
    return f"outbound|{upstream}"


def _outbound_listener(policy: Policy, upstream: Workload, port: int) -> dict[str, Any]:
    cluster = outbound_cluster_name(upstream.name)
    routes = [_outbound_route(cluster, path, s) for path, s in route_table(policy, upstream)]
    return {
        "name": f"outbound|{upstream.name}",
        "address": _address(port),
        "filter_chains": [{"filters": [_connection_manager(f"outbound_{upstream.name}", routes)]}],
    }


def _outbound_cluster(policy: Policy, upstream: Workload, plan: SidecarPlan) -> dict[str, Any]:
    pool = policy.setting(upstream, "connection_pool")
    outlier = policy.setting(upstream, "outlier_detection")
    cluster = _static_cluster(
        outbound_cluster_name(upstream.name),
        list(plan.peers[upstream.name]),
        connect_timeout=pool["tcp"]["connectTimeout"],
        max_requests_per_connection=pool["http"].get("maxRequestsPerConnection"),
    )
    tls = {
        "@type": f"{_TYPES}.transport_sockets.tls.v3.UpstreamTlsContext",
        "sni": upstream.name,
        "common_tls_context": {
            **_identity(plan),
            "validation_context": {
                "trusted_ca": {"filename": str(plan.trusted_ca)},
                # Secure naming: only the upstream's own identity may answer.
                "match_typed_subject_alt_names": [
                    {
                        "san_type": "URI",
                        "matcher": {"exact": spiffe_id(policy, plan.namespace, upstream.name)},
                    }
                ],
            },
            "alpn_protocols": ["h2"],
        },
    }
    cluster.update(
        {
            "transport_socket": {"name": TLS_SOCKET, "typed_config": tls},
            "circuit_breakers": {
                "thresholds": [
                    {
                        "max_connections": pool["tcp"]["maxConnections"],
                        "max_pending_requests": pool["http"]["http1MaxPendingRequests"],
                        "max_requests": pool["http"]["http2MaxRequests"],
                        "max_retries": pool["http"]["http2MaxRequests"],
                    }
                ]
            },
            "outlier_detection": {
                "consecutive_5xx": outlier["consecutive5xxErrors"],
                "consecutive_gateway_failure": outlier["consecutive5xxErrors"],
                "interval": outlier["interval"],
                "base_ejection_time": outlier["baseEjectionTime"],
                "max_ejection_percent": outlier["maxEjectionPercent"],
            },
        }
    )
    return cluster


# Shared pieces -----------------------------------------------------------------------------


def _address(port: int) -> dict[str, Any]:
    return {"socket_address": {"address": LOOPBACK, "port_value": port}}


def _identity(plan: SidecarPlan) -> dict[str, Any]:
    # File-based SDS: the launcher renames a new secret file into place and Envoy picks the
    # rotated certificate up without a restart.
    source = {
        "path_config_source": {
            "path": str(plan.certificate_sds),
            "watched_directory": {"path": str(plan.certificate_sds.parent)},
        },
        "resource_api_version": "V3",
    }
    return {
        "tls_certificate_sds_secret_configs": [{"name": CERTIFICATE_SECRET, "sds_config": source}]
    }


def certificate_secret(certificate_pem: str, private_key_pem: str) -> dict[str, Any]:
    """The content of a workload's SDS file."""
    return {
        "resources": [
            {
                "@type": f"{_TYPES}.transport_sockets.tls.v3.Secret",
                "name": CERTIFICATE_SECRET,
                "tls_certificate": {
                    "certificate_chain": {"inline_string": certificate_pem},
                    "private_key": {"inline_string": private_key_pem},
                },
            }
        ]
    }


def _connection_manager(
    stat_prefix: str, routes: list[dict[str, Any]], filters: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    return {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": f"{_TYPES}.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": stat_prefix,
            "codec_type": "AUTO",
            "route_config": {
                "name": stat_prefix,
                "virtual_hosts": [{"name": stat_prefix, "domains": ["*"], "routes": routes}],
            },
            "http_filters": [
                *filters,
                {
                    "name": "envoy.filters.http.router",
                    "typed_config": {"@type": f"{_TYPES}.filters.http.router.v3.Router"},
                },
            ],
            "access_log": [
                {
                    "name": "envoy.access_loggers.stdout",
                    "typed_config": {
                        "@type": f"{_TYPES}.access_loggers.stream.v3.StdoutAccessLog",
                        "log_format": {"text_format_source": {"inline_string": ACCESS_LOG_FORMAT}},
                    },
                }
            ],
        },
    }


def _static_cluster(
    name: str,
    ports: Sequence[int],
    *,
    connect_timeout: str,
    max_requests_per_connection: int | None = None,
) -> dict[str, Any]:
    http: dict[str, Any] = {"explicit_http_config": {"http2_protocol_options": {}}}
    if max_requests_per_connection is not None:
        http["common_http_protocol_options"] = {
            "max_requests_per_connection": max_requests_per_connection
        }
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": connect_timeout,
        "lb_policy": "ROUND_ROBIN",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": f"{_TYPES}.upstreams.http.v3.HttpProtocolOptions",
                **http,
            }
        },
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": _address(p)}} for p in ports]}
            ],
        },
    }
