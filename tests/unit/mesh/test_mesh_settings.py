from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mesh.settings import Env, RuntimeSettings, SettingsError


def test_defaults_follow_the_ports_table() -> None:
    settings = RuntimeSettings.from_env("order", {})
    assert settings.grpc_port == 50054
    assert settings.metrics_port == 51054
    assert settings.log_level == "INFO"
    assert settings.grace_seconds == 10.0
    assert settings.otlp_endpoint is None
    assert settings.state_dir == Path(".shop")
    assert (settings.jwt_issuer, settings.jwt_audience) == ("shopmesh", "shopmesh")
    assert settings.clients.address_of("catalog") == "localhost:50052"
    assert settings.clients.client_id is None


def test_environment_overrides() -> None:
    settings = RuntimeSettings.from_env(
        "order",
        {
            "GRPC_PORT": "6000",
            "LOG_LEVEL": "DEBUG",
            "CATALOG_SERVICE_ADDR": "catalog:50052",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317",
            "SERVICE_CLIENT_ID": "order",
            "SERVICE_CLIENT_SECRET": "s3cret",
        },
    )
    assert settings.grpc_port == 6000
    assert settings.metrics_port == 7000
    assert settings.clients.address_of("catalog") == "catalog:50052"
    assert settings.otlp_endpoint == "http://collector:4317"
    assert "s3cret" not in repr(settings)


def test_port_zero_gives_free_ports_for_tests() -> None:
    settings = RuntimeSettings.from_env("cart", {"GRPC_PORT": "0"})
    assert (settings.grpc_port, settings.metrics_port) == (0, 0)


def test_settings_are_frozen() -> None:
    settings = RuntimeSettings.from_env("cart", {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.grpc_port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"GRPC_PORT": "fifty"}, "GRPC_PORT"),
        ({"GRPC_PORT": "70000"}, "GRPC_PORT"),
        ({"METRICS_PORT": "-1"}, "METRICS_PORT"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"GRPC_GRACE_SECONDS": "soon"}, "GRPC_GRACE_SECONDS"),
        ({"CATALOG_SERVICE_ADDR": "catalog"}, "CATALOG_SERVICE_ADDR"),
        ({"USER_SERVICE_ADDR": "user:port"}, "USER_SERVICE_ADDR"),
    ],
)
def test_malformed_values_name_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        RuntimeSettings.from_env("cart", environ)
    assert caught.value.name == variable
    assert variable in str(caught.value)


def test_unknown_service_needs_an_explicit_port() -> None:
    with pytest.raises(SettingsError, match="GRPC_PORT"):
        RuntimeSettings.from_env("gizmo", {})


def test_readers_report_missing_required_values() -> None:
    env = Env({"EMPTY": "  "})
    with pytest.raises(SettingsError, match="DATABASE_URL: is required"):
        env.string("DATABASE_URL")
    with pytest.raises(SettingsError, match="EMPTY"):
        env.integer("EMPTY")


def test_typed_readers() -> None:
    env = Env(
        {
            "FLAG": "yes",
            "RATE": "2.5",
            "URL": "postgresql://u:p@localhost:5432/shop_order",
            "ORIGINS": "https://a.example, https://b.example",
            "KAFKA": "localhost:19092,localhost:19093",
        }
    )
    assert env.boolean("FLAG") is True
    assert env.boolean("OTHER", False) is False
    assert env.number("RATE", minimum=0) == 2.5
    assert env.url("URL", ("postgresql", "postgres")).endswith("shop_order")
    assert env.csv("ORIGINS") == ("https://a.example", "https://b.example")
    assert env.address("KAFKA") == "localhost:19092,localhost:19093"
    with pytest.raises(SettingsError, match="URL"):
        env.url("URL", ("redis",))
    with pytest.raises(SettingsError, match="FLAG"):
        Env({"FLAG": "maybe"}).boolean("FLAG")
    with pytest.raises(SettingsError, match="must be >= 1"):
        Env({"N": "0"}).integer("N", minimum=1)
