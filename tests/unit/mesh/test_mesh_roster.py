"""The runtime's roster matches the deployment's policy and the services/ folders."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
import yaml

from mesh.roster import ROSTER, SERVICE_NAMES, SERVICE_PORTS, RosterEntry, entry_of
from mesh.settings import SERVICE_PORTS as SETTINGS_PORTS

ROOT = Path(__file__).resolve().parents[3]


def test_roster_is_the_policy_services_in_order() -> None:
    policy = yaml.safe_load((ROOT / "deploy/mesh/policy.yaml").read_text())
    expected = tuple(
        RosterEntry(name, int(spec["port"]), str(spec["grpc_service"]))
        for name, spec in policy["services"].items()
    )
    assert ROSTER == expected, (
        "mesh/roster.py differs from deploy/mesh/policy.yaml; ROSTER should be:\n"
        + "\n".join(f"    {entry!r}," for entry in expected)
    )
    assert policy["groups"]["every-service"] == list(SERVICE_NAMES)


def test_every_service_folder_is_on_the_roster() -> None:
    folders = {p.parent.name for p in (ROOT / "services").glob("*/__main__.py")}
    assert folders == set(SERVICE_NAMES)


def test_ports_and_lookup() -> None:
    assert SETTINGS_PORTS is SERVICE_PORTS
    assert SERVICE_PORTS["cart"] == 50053 and len(set(SERVICE_PORTS.values())) == 9
    assert entry_of("search").grpc_service == "shop.search.v1.SearchService"
    with pytest.raises(KeyError, match="no service named 'basket'"):
        entry_of("basket")


def test_the_layer_contracts_cover_every_service() -> None:
    contracts = configparser.ConfigParser()
    contracts.read(ROOT / ".importlinter")
    independent = contracts["importlinter:contract:services-independent"]["modules"].split()
    assert independent == [f"services.{name}" for name in SERVICE_NAMES]
    for name in SERVICE_NAMES:
        pure = contracts[f"importlinter:contract:{name}-domain-is-pure"]
        assert pure["source_modules"].split() == [f"services.{name}.domain"]
        layers = contracts[f"importlinter:contract:{name}-layers"]
        assert layers["containers"].split() == [f"services.{name}"]
        assert layers["layers"].split() == [
            "main",
            "servicer",
            "adapters",
            "service_layer",
            "domain",
        ]
