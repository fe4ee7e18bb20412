"""Port plans, configuration from the environment, and generated credentials."""

from __future__ import annotations

import itertools
import stat
from pathlib import Path

import pytest

from launcher.config import PlatformConfig, PortPlan
from launcher.credentials import Credentials, CredentialStore, admin_from_env
from launcher.infra import Infrastructure
from launcher.stores.base import ExternalStore
from mesh.settings import SettingsError


def test_default_ports_are_the_documented_ones() -> None:
    plan = PortPlan()
    assert (plan.postgres, plan.redis, plan.kafka, plan.kafka_controller) == (
        15432,
        16379,
        19092,
        19093,
    )
    assert (plan.ferretdb, plan.elasticsearch, plan.smtp) == (37017, 19200, 10025)
    assert (plan.gateway, plan.gateway_metrics) == (8080, 9080)
    assert plan.grpc["user"] == 50051 and plan.grpc["analytics"] == 50059
    assert all(plan.metrics[name] == port + 1000 for name, port in plan.grpc.items())


def test_free_plan_uses_distinct_ports() -> None:
    plan = PortPlan.free(itertools.count(40000))
    ports = [
        plan.postgres,
        plan.redis,
        plan.kafka,
        plan.kafka_controller,
        plan.ferretdb,
        plan.elasticsearch,
        plan.elasticsearch_transport,
        plan.smtp,
        plan.gateway,
        plan.gateway_metrics,
        *plan.grpc.values(),
        *plan.metrics.values(),
    ]
    assert len(set(ports)) == len(ports) == 10 + 18


def test_ports_are_overridable_from_the_environment() -> None:
    plan = PortPlan.from_env(
        {"SHOP_POSTGRES_PORT": "25432", "SHOP_USER_PORT": "60051", "GATEWAY_PORT": "8081"}
    )
    assert plan.postgres == 25432
    assert plan.grpc["user"] == 60051 and plan.metrics["user"] == 61051
    assert plan.gateway == 8081


def test_the_ferretdb_port_and_its_former_variable_name() -> None:
    assert PortPlan.from_env({"SHOP_FERRETDB_PORT": "47017"}).ferretdb == 47017
    assert PortPlan.from_env({"SHOP_MONGODB_PORT": "47018"}).ferretdb == 47018
    both = {"SHOP_FERRETDB_PORT": "47017", "SHOP_MONGODB_PORT": "47018"}
    assert PortPlan.from_env(both).ferretdb == 47017
    assert PortPlan.from_env(both).to_env()["SHOP_FERRETDB_PORT"] == "47017"


def test_a_malformed_port_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="SHOP_REDIS_PORT"):
        PortPlan.from_env({"SHOP_REDIS_PORT": "redis"})


def test_state_and_cache_directories(tmp_path: Path) -> None:
    config = PlatformConfig.from_env(
        {"SHOP_STATE_DIR": "var/state", "SHOP_CACHE_DIR": str(tmp_path / "cache")}, tmp_path
    )
    assert config.state_dir == tmp_path / "var" / "state"
    assert config.cache_dir == tmp_path / "cache"
    assert config.log_dir == config.state_dir / "logs"
    default = PlatformConfig.from_env({"HOME": str(tmp_path)}, tmp_path)
    assert default.state_dir == tmp_path / ".shop"


def test_external_stores_are_not_provisioned(tmp_path: Path) -> None:
    config = PlatformConfig.from_env(
        {
            "DATABASE_URL": "postgresql://u:p@db:5432/x",
            "KAFKA_BOOTSTRAP_SERVERS": " ",
            "CI": "true",
        },
        tmp_path,
    )
    assert not config.provisions("postgres")
    assert config.provisions("kafka")
    assert config.ci


def test_credentials_are_created_once_and_private(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    first, created = store.load_or_create()
    again, created_again = store.load_or_create()
    assert created and not created_again
    assert first == again
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert set(first.client_secrets) >= {"user", "catalog", "gateway"}
    assert len(first.admin_password) >= 24
    assert any(not c.isalpha() for c in first.admin_password)


def test_admin_from_the_environment_wins_when_both_are_set(tmp_path: Path) -> None:
    credentials, _ = CredentialStore(tmp_path).load_or_create()
    chosen = admin_from_env(
        credentials, {"SHOP_ADMIN_EMAIL": "ops@example.com", "SHOP_ADMIN_PASSWORD": "s3cret!"}
    )
    assert (chosen.admin_email, chosen.admin_password) == ("ops@example.com", "s3cret!")
    assert admin_from_env(credentials, {"SHOP_ADMIN_EMAIL": "ops@example.com"}) == credentials


def test_a_port_plan_survives_the_environment_round_trip() -> None:
    plan = PortPlan.free(itertools.count(41000))
    assert PortPlan.from_env(plan.to_env()) == plan


def test_a_store_given_by_url_is_only_checked_never_started(tmp_path: Path) -> None:
    config = PlatformConfig.from_env(
        {"REDIS_URL": "redis://:pw@cache.internal:6380/0", "DATABASE_URL": "postgresql://u:p@db/x"},
        tmp_path,
        state_dir=tmp_path / "state",
    )
    infra = Infrastructure(config, Credentials())
    redis_store = infra.store("redis")
    assert isinstance(redis_store, ExternalStore)
    assert redis_store.url() == "redis://:pw@cache.internal:6380/0"
    assert infra.service_database_url("shop_order") == "postgresql://u:p@db/shop_order"
    assert not isinstance(infra.store("kafka"), ExternalStore)
