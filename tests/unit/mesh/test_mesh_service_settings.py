"""The services read the settings they share the same way: Kafka security as the mesh's
KafkaSecurity (and `build` hands it to every publisher and consumer it makes), the PostgreSQL
pool size with Env.pool_max_size (both spellings of the variable)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest

from mesh.events.security import KafkaSecurity
from mesh.roster import SERVICE_NAMES
from mesh.settings import SettingsError

ROOT = Path(__file__).resolve().parents[3]
POSTGRES_SERVICES = [s for s in SERVICE_NAMES if (ROOT / "services" / s / "migrations").is_dir()]
KAFKA_CLIENTS = {"EventPublisher", "EventConsumer"}
SASL = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
    "KAFKA_SASL_USERNAME": "workload",
    "KAFKA_SASL_PASSWORD": "secret",
}


def _settings(service: str, environ: dict[str, str], state_dir: Path) -> Any:
    settings_class = importlib.import_module(f"services.{service}.settings").Settings
    if "state_dir" in inspect.signature(settings_class.from_env).parameters:
        return settings_class.from_env(environ, state_dir)
    return settings_class.from_env(environ)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_settings_read_the_kafka_security(service: str, tmp_path: Path) -> None:
    assert _settings(service, {}, tmp_path).kafka_security == KafkaSecurity()
    security = _settings(service, SASL, tmp_path).kafka_security
    assert (security.protocol, security.mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-256")
    assert (security.username, security.password) == ("workload", "secret")
    without_user = {**SASL, "KAFKA_SASL_USERNAME": ""}
    with pytest.raises(SettingsError, match="KAFKA_SASL_USERNAME"):
        _settings(service, without_user, tmp_path)


def _kafka_clients(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in KAFKA_CLIENTS
    ]


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_build_passes_the_security_to_every_kafka_client(service: str) -> None:
    tree = ast.parse((ROOT / "services" / service / "main.py").read_text())
    calls = _kafka_clients(tree)
    assert calls, f"{service} builds no Kafka client"
    for call in calls:
        security = [k.value for k in call.keywords if k.arg == "security"]
        assert len(security) == 1, f"{service}: line {call.lineno} has no security="
        assert ast.unparse(security[0]) == "settings.kafka_security", call.lineno


def test_the_postgres_services_are_found() -> None:
    assert sorted(POSTGRES_SERVICES) == ["analytics", "notification", "order", "payment", "user"]


@pytest.mark.parametrize("service", POSTGRES_SERVICES)
def test_pool_size_reads_both_spellings(service: str, tmp_path: Path) -> None:
    assert _settings(service, {"DATABASE_POOL_MAX_SIZE": "6"}, tmp_path).db_pool_max_size == 6
    assert _settings(service, {"DATABASE_POOL_SIZE": "5"}, tmp_path).db_pool_max_size == 5
    with pytest.raises(SettingsError) as bad:
        _settings(service, {"DATABASE_POOL_MAX_SIZE": "many"}, tmp_path)
    assert bad.value.name == "DATABASE_POOL_MAX_SIZE"
