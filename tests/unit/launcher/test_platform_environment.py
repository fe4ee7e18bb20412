"""Which processes exist and the environment each of them is started with."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

from launcher.components import Component, EnvironmentBuilder, discover
from launcher.config import PlatformConfig, PortPlan
from launcher.credentials import Credentials
from launcher.platform import _redact

STORE_URLS = {
    "postgres": "postgresql://postgres:pw@127.0.0.1:1/postgres",
    "redis": "redis://:pw@127.0.0.1:2/0",
    "kafka": "127.0.0.1:3",
    "ferretdb": "mongodb://127.0.0.1:4/",
    "elasticsearch": "http://127.0.0.1:5",
    "smtp": "smtp://127.0.0.1:6",
}


def builder(tmp_path: Path, credentials: Credentials) -> EnvironmentBuilder:
    config = PlatformConfig.from_env({}, tmp_path, ports=PortPlan.free(itertools.count(30000)))
    return EnvironmentBuilder(
        config=config,
        credentials=credentials,
        store_urls=STORE_URLS,
        database_urls={
            "user": "postgresql://shop_user:x@127.0.0.1:1/shop_user",
            "order": "postgresql://shop_order:y@127.0.0.1:1/shop_order",
        },
        base={"PATH": "/usr/bin", "DATABASE_URL": "postgresql://leaked", "LOG_LEVEL": "DEBUG"},
        services=["user", "order"],
        kafka_clients={
            name: {"KAFKA_SASL_USERNAME": name, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
            for name in ("user", "order")
        },
    )


def test_discovers_services_with_a_main_module_and_the_gateway(tmp_path: Path) -> None:
    for name in ("order", "user", "nonsense"):
        (tmp_path / "services" / name).mkdir(parents=True)
        (tmp_path / "services" / name / "main.py").touch()
    (tmp_path / "services" / "cart").mkdir()
    (tmp_path / "gateway").mkdir()
    (tmp_path / "gateway" / "__main__.py").touch()
    names = [c.name for c in discover(tmp_path)]
    assert names == ["user", "order", "gateway"]


def test_user_service_gets_admin_jwt_keys_and_client_secret_digests(tmp_path: Path) -> None:
    credentials = Credentials()
    env = builder(tmp_path, credentials).for_component(Component("user", "services.user"))
    assert env["DATABASE_URL"].endswith("/shop_user")
    assert env["SHOP_ADMIN_EMAIL"] == credentials.admin_email
    assert env["SHOP_ADMIN_PASSWORD"] == credentials.admin_password
    assert env["JWT_KEY_DIR"].endswith("jwt")
    digests = dict(item.split("=") for item in env["SERVICE_CLIENT_SECRETS"].split(","))
    expected = hashlib.sha256(credentials.client_secrets["cart"].encode()).hexdigest()
    assert digests["cart"] == expected
    assert env["SERVICE_CLIENT_ID"] == "user"
    assert env["LOG_LEVEL"] == "DEBUG"


def test_each_service_gets_only_its_own_stores(tmp_path: Path) -> None:
    env_builder = builder(tmp_path, Credentials())
    order = env_builder.for_component(Component("order", "services.order"))
    cart = env_builder.for_component(Component("cart", "services.cart"))
    catalog = env_builder.for_component(Component("catalog", "services.catalog"))
    assert order["DATABASE_URL"].endswith("/shop_order")
    assert "DATABASE_URL" not in cart and cart["REDIS_URL"] == STORE_URLS["redis"]
    assert catalog["MONGODB_URL"] == STORE_URLS["ferretdb"]
    assert "SHOP_ADMIN_PASSWORD" not in order
    ports = env_builder.config.ports
    assert order["GRPC_PORT"] == str(ports.grpc["order"])
    assert order["METRICS_PORT"] == str(ports.metrics["order"])
    assert order["USER_SERVICE_ADDR"] == f"127.0.0.1:{ports.grpc['user']}"
    assert order["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:3"
    assert order["SHOP_STATE_DIR"] == str(env_builder.config.state_dir)


def test_gateway_environment(tmp_path: Path) -> None:
    env_builder = builder(tmp_path, Credentials())
    env = env_builder.for_component(Component("gateway", "gateway"))
    assert env["GATEWAY_PORT"] == str(env_builder.config.ports.gateway)
    assert env["GATEWAY_METRICS_PORT"] == str(env_builder.config.ports.gateway_metrics)
    assert env["REDIS_URL"] == STORE_URLS["redis"]
    assert "CATALOG_SERVICE_ADDR" in env
    assert env["GATEWAY_UPSTREAMS"] == "user,order"


def test_passwords_are_hidden_in_tables() -> None:
    assert (
        _redact("postgresql://postgres:pw@127.0.0.1:1/x")
        == "postgresql://postgres:***@127.0.0.1:1/x"
    )
    assert _redact("redis://:pw@127.0.0.1:2/0") == "redis://***@127.0.0.1:2/0"
    assert _redact("127.0.0.1:3") == "127.0.0.1:3"


def test_each_service_gets_its_own_kafka_user_and_the_gateway_none(tmp_path: Path) -> None:
    build = builder(tmp_path, Credentials())
    order = build.for_component(Component("order", "services.order"))
    assert order["KAFKA_SASL_USERNAME"] == "order"
    assert order["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    gateway = build.for_component(Component("gateway", "gateway"))
    assert "KAFKA_SASL_USERNAME" not in gateway
