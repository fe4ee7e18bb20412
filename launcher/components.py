"""The platform's own processes: which services exist and the environment each one gets."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from launcher.config import PlatformConfig
from launcher.credentials import SERVICE_DATABASES, Credentials
from mesh.roster import SERVICE_PORTS
from mesh.settings import upstream_env_name

GATEWAY: Final = "gateway"
# The store URLs each service receives (all of them get Kafka: every service publishes events).
_STORES_OF: Final[Mapping[str, tuple[str, ...]]] = {
    # redis: the user service publishes revoked sessions there for the gateway.
    "user": ("postgres", "redis"),
    "catalog": ("ferretdb", "redis"),
    "cart": ("redis",),
    "order": ("postgres",),
    "payment": ("postgres",),
    "notification": ("postgres", "smtp"),
    "review": ("ferretdb",),
    "search": ("elasticsearch",),
    "analytics": ("postgres",),
}
_URL_VARIABLE: Final[Mapping[str, str]] = {
    "redis": "REDIS_URL",
    "ferretdb": "MONGODB_URL",
    "elasticsearch": "ELASTICSEARCH_URL",
    "smtp": "SMTP_URL",
    "kafka": "KAFKA_BOOTSTRAP_SERVERS",
}


# Local components listen on loopback only: a laptop on a shared network exposes nothing.
LOOPBACK: Final = "127.0.0.1"


@dataclass(frozen=True)
class Component:
    """One of our processes: a service (gRPC) or the gateway (HTTP)."""

    name: str
    module: str

    @property
    def is_gateway(self) -> bool:
        return self.name == GATEWAY

    def argv(self) -> list[str]:
        return [sys.executable, "-m", self.module]


def discover(repo_root: Path) -> list[Component]:
    """Services whose services/<name>/main.py exists (in port order), then the gateway."""
    found = [
        Component(name, f"services.{name}")
        for name in SERVICE_PORTS
        if (repo_root / "services" / name / "main.py").exists()
    ]
    if (repo_root / "gateway" / "__main__.py").exists():
        found.append(Component(GATEWAY, GATEWAY))
    return found


def owns_database(service: str) -> bool:
    return service in SERVICE_DATABASES


@dataclass(frozen=True)
class EnvironmentBuilder:
    """Builds each process's environment from the port plan, store URLs and credentials."""

    config: PlatformConfig
    credentials: Credentials
    store_urls: Mapping[str, str]
    # DSN of each owner's database ("user" -> postgresql://shop_user:...@.../shop_user).
    database_urls: Mapping[str, str]
    base: Mapping[str, str]
    # The services that run beside the gateway (short names).
    services: Sequence[str] = ()
    # KAFKA_* settings per service (bootstrap, SASL user and password, CA file).
    kafka_clients: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def addresses(self) -> dict[str, str]:
        return {
            upstream_env_name(name): f"127.0.0.1:{port}"
            for name, port in self.config.ports.grpc.items()
        }

    def common(self) -> dict[str, str]:
        return {
            **self.base,
            **self.addresses(),
            "SHOP_STATE_DIR": str(self.config.state_dir),
            "LOG_LEVEL": self.base.get("LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
            "KAFKA_BOOTSTRAP_SERVERS": self.store_urls["kafka"],
        }

    def for_component(self, component: Component) -> dict[str, str]:
        if component.is_gateway:
            return self._gateway()
        return self._service(component.name)

    def _service(self, name: str) -> dict[str, str]:
        env = self.common()
        # A URL the developer exported for one store must not leak into another service.
        for variable in ("DATABASE_URL", *_URL_VARIABLE.values()):
            if variable != "KAFKA_BOOTSTRAP_SERVERS":
                env.pop(variable, None)
        env.update(
            LISTEN_HOST=LOOPBACK,
            GRPC_PORT=str(self.config.ports.grpc[name]),
            METRICS_PORT=str(self.config.ports.metrics[name]),
            SERVICE_CLIENT_ID=name,
            SERVICE_CLIENT_SECRET=self.credentials.client_secrets[name],
        )
        env.update(self.kafka_clients.get(name, {}))
        for store in _STORES_OF.get(name, ()):
            if store == "postgres":
                env["DATABASE_URL"] = self.database_urls[name]
            else:
                env[_URL_VARIABLE[store]] = self.store_urls[store]
        if name == "user":
            env.update(
                SHOP_ADMIN_EMAIL=self.credentials.admin_email,
                SHOP_ADMIN_PASSWORD=self.credentials.admin_password,
                SERVICE_CLIENT_SECRETS=self.credentials.client_secret_digests(),
                JWT_KEY_DIR=str(self.config.state_dir / "jwt"),
            )
        return env

    def _gateway(self) -> dict[str, str]:
        env = self.common()
        env.update(
            GATEWAY_HOST=LOOPBACK,
            GATEWAY_PORT=str(self.config.ports.gateway),
            GATEWAY_METRICS_PORT=str(self.config.ports.gateway_metrics),
            REDIS_URL=self.store_urls["redis"],
            # Readiness waits only for the services that exist in this checkout.
            GATEWAY_UPSTREAMS=",".join(self.services),
            SERVICE_CLIENT_ID=GATEWAY,
            SERVICE_CLIENT_SECRET=self.credentials.client_secrets[GATEWAY],
        )
        return env
