"""Typed settings read once from the environment.

Every service builds a frozen dataclass from an `Env` reader; any missing or malformed
variable raises `SettingsError` naming the variable, so a bad deployment fails at start.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from mesh.roster import SERVICE_PORTS

logger = logging.getLogger(__name__)

__all__ = [
    "SERVICE_PORTS",
    "ClientSettings",
    "Env",
    "RuntimeSettings",
    "SettingsError",
]

# Metrics listen on the service's gRPC port (mesh.roster.SERVICE_PORTS) + METRICS_PORT_OFFSET.
METRICS_PORT_OFFSET: Final = 1000
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_POOL_MAX_SIZE: Final = "DATABASE_POOL_MAX_SIZE"
_OLD_POOL_SIZE: Final = "DATABASE_POOL_SIZE"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingsError(ValueError):
    """A required environment variable is missing or malformed."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"environment variable {name}: {problem}")
        self.name = name
        self.problem = problem


class _Missing:
    pass


_MISSING: Final = _Missing()


class Env:
    """Typed readers over an environment mapping; each error names the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def string(self, name: str, default: str | _Missing = _MISSING) -> str:
        value = self._raw(name)
        if value is not None:
            return value
        if isinstance(default, _Missing):
            raise SettingsError(name, "is required but not set")
        return default

    def optional_string(self, name: str) -> str | None:
        return self._raw(name)

    def integer(
        self,
        name: str,
        default: int | _Missing = _MISSING,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        raw = self._raw(name)
        if raw is None:
            if isinstance(default, _Missing):
                raise SettingsError(name, "is required but not set")
            return default
        try:
            value = int(raw, 10)
        except ValueError:
            raise SettingsError(name, f"expected an integer, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise SettingsError(name, f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise SettingsError(name, f"must be <= {maximum}, got {value}")
        return value

    def pool_max_size(self, default: int, *, minimum: int = 1) -> int:
        """`DATABASE_POOL_MAX_SIZE`, the most connections a service's PostgreSQL pool opens.

        The older spelling `DATABASE_POOL_SIZE` is still read when the new one is not set,
        with a warning, so existing deployments keep their value.
        """
        if self._raw(DATABASE_POOL_MAX_SIZE) is None and self._raw(_OLD_POOL_SIZE) is not None:
            logger.warning(
                "%s is deprecated; set %s instead", _OLD_POOL_SIZE, DATABASE_POOL_MAX_SIZE
            )
            return self.integer(_OLD_POOL_SIZE, default, minimum=minimum)
        return self.integer(DATABASE_POOL_MAX_SIZE, default, minimum=minimum)

    def port(self, name: str, default: int | _Missing = _MISSING) -> int:
        # 0 is allowed: it asks the OS for a free port (used by tests).
        return self.integer(name, default, minimum=0, maximum=65535)

    def number(
        self,
        name: str,
        default: float | _Missing = _MISSING,
        *,
        minimum: float | None = None,
    ) -> float:
        raw = self._raw(name)
        if raw is None:
            if isinstance(default, _Missing):
                raise SettingsError(name, "is required but not set")
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(name, f"expected a number, got {raw!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise SettingsError(name, f"expected a finite number, got {raw!r}")
        if minimum is not None and value < minimum:
            raise SettingsError(name, f"must be >= {minimum}, got {value}")
        return value

    def boolean(self, name: str, default: bool | _Missing = _MISSING) -> bool:
        raw = self._raw(name)
        if raw is None:
            if isinstance(default, _Missing):
                raise SettingsError(name, "is required but not set")
            return default
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise SettingsError(name, f"expected true/false, got {raw!r}")

    def choice(
        self, name: str, choices: tuple[str, ...], default: str | _Missing = _MISSING
    ) -> str:
        value = self.string(name, default)
        if value not in choices:
            raise SettingsError(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def address(self, name: str, default: str | _Missing = _MISSING) -> str:
        """A `host:port` pair, as used for gRPC targets and Kafka bootstrap servers."""
        value = self.string(name, default)
        for part in value.split(","):
            host, sep, port = part.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise SettingsError(name, f"expected host:port, got {value!r}")
        return value

    def url(
        self,
        name: str,
        schemes: tuple[str, ...],
        default: str | _Missing = _MISSING,
    ) -> str:
        value = self.string(name, default)
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            raise SettingsError(
                name, f"expected a URL with scheme {'/'.join(schemes)}, got a malformed value"
            )
        return value

    def csv(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        raw = self._raw(name)
        if raw is None:
            return default
        return tuple(item.strip() for item in raw.split(",") if item.strip())


def upstream_env_name(service: str) -> str:
    return f"{service.upper()}_SERVICE_ADDR"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """What a ChannelFactory needs: where the services are and how long calls may take."""

    addresses: Mapping[str, str]
    default_deadline_seconds: float = 5.0
    keepalive_seconds: float = 30.0
    # Credentials for the service token used by background work that has no caller.
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ClientSettings:
        env = Env(environ)
        addresses = {
            name: env.address(upstream_env_name(name), f"localhost:{port}")
            for name, port in SERVICE_PORTS.items()
        }
        return cls(
            addresses=addresses,
            default_deadline_seconds=env.number("GRPC_CLIENT_DEADLINE_SECONDS", 5.0, minimum=0.01),
            keepalive_seconds=env.number("GRPC_KEEPALIVE_SECONDS", 30.0, minimum=1.0),
            client_id=env.optional_string("SERVICE_CLIENT_ID"),
            client_secret=env.optional_string("SERVICE_CLIENT_SECRET"),
        )

    def address_of(self, service: str) -> str:
        try:
            return self.addresses[service]
        except KeyError:
            raise SettingsError(upstream_env_name(service), "unknown service") from None


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    """The part of the configuration every service shares."""

    service_name: str
    # Interface the gRPC and metrics servers bind: all of them (a pod) unless LISTEN_HOST
    # names one (the local platform keeps everything on loopback).
    listen_host: str | None
    grpc_port: int
    metrics_port: int
    log_level: str
    grace_seconds: float
    otlp_endpoint: str | None
    state_dir: Path
    jwt_issuer: str
    jwt_audience: str
    health_probe_interval_seconds: float
    clients: ClientSettings

    @classmethod
    def from_env(cls, service_name: str, environ: Mapping[str, str]) -> RuntimeSettings:
        env = Env(environ)
        default_port = SERVICE_PORTS.get(service_name, _MISSING)
        grpc_port = env.port("GRPC_PORT", default_port)
        # With GRPC_PORT=0 (tests) metrics also take a free port unless told otherwise.
        metrics_default = grpc_port + METRICS_PORT_OFFSET if grpc_port else 0
        return cls(
            service_name=service_name,
            listen_host=env.optional_string("LISTEN_HOST"),
            grpc_port=grpc_port,
            metrics_port=env.port("METRICS_PORT", metrics_default),
            log_level=env.choice("LOG_LEVEL", LOG_LEVELS, "INFO"),
            grace_seconds=env.number("GRPC_GRACE_SECONDS", 10.0, minimum=0.0),
            otlp_endpoint=env.optional_string("OTEL_EXPORTER_OTLP_ENDPOINT"),
            state_dir=Path(env.string("SHOP_STATE_DIR", ".shop")),
            jwt_issuer=env.string("JWT_ISSUER", "shopmesh"),
            jwt_audience=env.string("JWT_AUDIENCE", "shopmesh"),
            health_probe_interval_seconds=env.number(
                "HEALTH_PROBE_INTERVAL_SECONDS", 2.0, minimum=0.05
            ),
            clients=ClientSettings.from_env(environ),
        )
