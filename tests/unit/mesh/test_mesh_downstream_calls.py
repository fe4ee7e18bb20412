"""Every gRPC call a service's code makes is one the mesh policy allows that service.

The calls are read from the code itself: each service's modules (and the runtime in mesh/,
which every service runs) are parsed, the stubs they build name the target services, and the
attributes they take from those services' method names are the calls. A call the policy does
not list would be denied by the sidecars and by the target's interceptor.
"""

from __future__ import annotations

import ast
import functools
import importlib
from pathlib import Path

from mesh.roster import ROSTER, RosterEntry
from tools.gen_callers import load_policy, method_callers

ROOT = Path(__file__).resolve().parents[3]
POLICY_CALLERS = method_callers(load_policy())


def _methods(entry: RosterEntry) -> frozenset[str]:
    package, name = entry.grpc_service.rsplit(".", 1)
    module = importlib.import_module(f"{package}.{entry.name}_pb2")
    return frozenset(m.name for m in module.DESCRIPTOR.services_by_name[name].methods)


TARGETS = {entry.grpc_service.rsplit(".", 1)[1]: entry for entry in ROSTER}
METHODS = {entry.name: _methods(entry) for entry in ROSTER}


@functools.cache
def _scan(folder: Path) -> tuple[frozenset[str], frozenset[str]]:
    """(the services whose stubs the code builds, every attribute name it uses)."""
    stubs: set[str] = set()
    attributes: set[str] = set()
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Attribute):
                attributes.add(node.attr)
                if node.attr.endswith("ServiceStub") and node.attr[:-4] in TARGETS:
                    stubs.add(TARGETS[node.attr[:-4]].name)
    return frozenset(stubs), frozenset(attributes)


def downstream_calls(folders: list[Path], caller: str) -> set[str]:
    """Full method paths of other services that the code in `folders` calls."""
    stubs = {name for folder in folders for name in _scan(folder)[0]} - {caller}
    attributes = {name for folder in folders for name in _scan(folder)[1]}
    return {
        f"/{entry.grpc_service}/{method}"
        for entry in ROSTER
        if entry.name in stubs
        for method in METHODS[entry.name] & attributes
    }


def calls_of(service: str) -> set[str]:
    return downstream_calls([ROOT / "services" / service, ROOT / "mesh"], service)


def test_the_scan_finds_the_known_calls() -> None:
    # If the scan stopped seeing calls, the test below would pass for the wrong reason.
    assert "/shop.payment.v1.PaymentService/Charge" in calls_of("order")
    assert "/shop.catalog.v1.CatalogService/ReserveStock" in calls_of("order")
    assert "/shop.user.v1.UserService/GetUser" in calls_of("review")
    assert "/shop.user.v1.UserService/GetUser" in calls_of("notification")
    assert "/shop.user.v1.UserService/IssueServiceToken" in calls_of("search")


def test_every_downstream_call_is_allowed_by_the_policy() -> None:
    refused = sorted(
        (entry.name, path)
        for entry in ROSTER
        for path in calls_of(entry.name)
        if entry.name not in POLICY_CALLERS.get(path, frozenset())
    )
    assert not refused, f"calls the mesh policy does not allow (add them to policy.yaml): {refused}"
