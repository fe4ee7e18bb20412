"""The mesh policy file is the source of the Istio and workload manifests, and it covers the
contracts: every service and method in proto/ has its callers declared."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import pytest

from mesh.roster import SERVICE_NAMES, SERVICE_PORTS

from .deploy_tools import ROOT

PROTO = ROOT / "proto" / "shop"
# proto/shop packages that are shared messages, not services.
NOT_SERVICES = {"common", "events", "api"}
RPC = re.compile(r"^\s*rpc\s+(\w+)\s*\(", re.MULTILINE)
SERVICE = re.compile(r"^\s*service\s+(\w+)\s*\{", re.MULTILINE)


def _proto_services() -> dict[str, dict[str, list[str]]]:
    """{directory name: {gRPC service name: [methods]}} parsed from proto/shop/<name>/v1."""
    found: dict[str, dict[str, list[str]]] = {}
    if not PROTO.is_dir():
        return found
    for directory in sorted(
        p for p in PROTO.iterdir() if p.is_dir() and p.name not in NOT_SERVICES
    ):
        for proto in sorted(directory.glob("v1/*.proto")):
            text = proto.read_text(encoding="utf-8")
            package = re.search(r"^package\s+([\w.]+);", text, re.MULTILINE)
            for match in SERVICE.finditer(text):
                body = text[match.end() : text.find("\n}", match.end())]
                name = f"{package.group(1)}.{match.group(1)}" if package else match.group(1)
                found.setdefault(directory.name, {})[name] = RPC.findall(body)
    return found


@pytest.fixture(scope="module")
def policy(render_module: ModuleType) -> Any:
    return render_module.Policy.load()


def test_committed_manifests_equal_what_the_policy_renders(render_module: ModuleType) -> None:
    rendered = render_module.render(render_module.Policy.load())
    stale = [
        str(path)
        for path, content in rendered.items()
        if not (ROOT / "deploy" / path).exists()
        or (ROOT / "deploy" / path).read_text(encoding="utf-8") != content
    ]
    assert not stale, f"run `python -m deploy.mesh.render`; out of date: {stale}"


def test_render_check_mode_agrees(render_module: ModuleType) -> None:
    assert render_module.main(["--check"]) == 0


def test_every_proto_service_is_in_the_policy_with_every_method(policy: Any) -> None:
    services = _proto_services()
    for directory, grpc_services in services.items():
        assert directory in policy.services, f"proto/shop/{directory} has no entry in policy.yaml"
        spec = policy.services[directory]
        for grpc_service, methods in grpc_services.items():
            assert spec["grpc_service"] == grpc_service
            missing = sorted(set(methods) - set(spec["methods"]))
            assert not missing, f"{grpc_service}: methods without callers in policy.yaml: {missing}"


def test_methods_with_an_http_binding_are_callable_by_the_gateway(policy: Any) -> None:
    for directory in sorted(p for p in PROTO.glob("*/v1/*.proto")):
        text = directory.read_text(encoding="utf-8")
        for match in re.finditer(
            r"rpc\s+(\w+)\s*\([^)]*\)\s*returns\s*\([^)]*\)\s*\{(.*?)\n  \}", text, re.S
        ):
            service = directory.parent.parent.name
            if "google.api.http" in match.group(2) and service in policy.services:
                callers = policy.method_callers(service).get(match.group(1), [])
                assert "gateway" in callers, f"{service}.{match.group(1)} has an HTTP route"


def test_policy_lists_the_platform_services(policy: Any) -> None:
    # The roster (mesh/roster.py) is the one hand-kept list; the policy must name the same
    # services, in the same order, on the same ports.
    assert list(policy.services) == list(SERVICE_NAMES)
    ports = {name: spec["port"] for name, spec in policy.services.items()}
    assert ports == dict(SERVICE_PORTS)
    assert ports["user"] == 50051 and ports["analytics"] == 50059


@pytest.mark.parametrize(
    ("service", "method", "callers"),
    [
        ("payment", "Charge", ["order"]),
        ("payment", "Refund", ["order"]),
        ("catalog", "ReserveStock", ["order"]),
        ("catalog", "ReleaseStock", ["order"]),
        ("notification", "SendNotification", ["order", "user"]),
        ("order", "HasPurchased", ["review"]),
        ("user", "GetUser", ["gateway", "notification", "review"]),
        ("cart", "GetCart", ["gateway", "order"]),
        ("cart", "ClearCart", ["gateway", "order"]),
        ("catalog", "ListProducts", ["gateway", "search"]),
        ("catalog", "GetProduct", ["cart", "gateway", "order", "review", "search"]),
        ("catalog", "BatchGetProducts", ["cart", "gateway", "order", "review", "search"]),
    ],
)
def test_internal_methods_have_exactly_their_legitimate_callers(
    policy: Any, service: str, method: str, callers: list[str]
) -> None:
    assert sorted(policy.method_callers(service)[method]) == callers


def test_every_workload_may_get_tokens_and_keys_from_the_user_service(policy: Any) -> None:
    # The gateway's own token vouches for the client address it forwards to the user service.
    every = sorted([*policy.services, "gateway"])
    assert sorted(policy.method_callers("user")["IssueServiceToken"]) == every
    assert sorted(policy.method_callers("user")["GetJwks"]) == every


def test_public_methods_are_reached_from_the_gateway_only(policy: Any) -> None:
    internal_callers = {
        ("user", "GetJwks"), ("user", "IssueServiceToken"), ("user", "GetUser"),
        ("catalog", "ReserveStock"),
        ("catalog", "ReleaseStock"), ("catalog", "ListProducts"), ("catalog", "GetProduct"),
        ("catalog", "BatchGetProducts"), ("cart", "GetCart"), ("cart", "ClearCart"),
        ("payment", "Charge"), ("payment", "Refund"), ("notification", "SendNotification"),
        ("order", "HasPurchased"),
    }  # fmt: skip
    for service in policy.services:
        for method, callers in policy.method_callers(service).items():
            if (service, method) not in internal_callers:
                assert callers == ["gateway"], f"{service}.{method} is public: gateway only"
