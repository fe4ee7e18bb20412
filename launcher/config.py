"""Where the local platform keeps its files, which ports it uses, which stores are external."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from mesh.roster import SERVICE_PORTS
from mesh.settings import METRICS_PORT_OFFSET, Env

STORE_URL_VARIABLES: Final[Mapping[str, str]] = {
    "postgres": "DATABASE_URL",
    "redis": "REDIS_URL",
    "kafka": "KAFKA_BOOTSTRAP_SERVERS",
    # FerretDB speaks the MongoDB wire protocol; the services read a MongoDB URL.
    "ferretdb": "MONGODB_URL",
    "elasticsearch": "ELASTICSEARCH_URL",
    "smtp": "SMTP_URL",
}
STORES: Final = tuple(STORE_URL_VARIABLES)
# Names a store had before, still accepted where a user types one (`shop logs mongodb`).
FORMER_STORE_NAMES: Final[Mapping[str, str]] = {"mongodb": "ferretdb"}


@dataclass(frozen=True)
class PortPlan:
    """Every TCP port the platform listens on."""

    postgres: int = 15432
    redis: int = 16379
    kafka: int = 19092
    kafka_controller: int = 19093
    ferretdb: int = 37017
    elasticsearch: int = 19200
    elasticsearch_transport: int = 19300
    smtp: int = 10025
    gateway: int = 8080
    gateway_metrics: int = 9080
    grpc: Mapping[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    metrics: Mapping[str, int] = field(
        default_factory=lambda: {n: p + METRICS_PORT_OFFSET for n, p in SERVICE_PORTS.items()}
    )
    # Kafka's plaintext listener on loopback, for the test suite's own clients only (see
    # launcher/stores/kafka.py); `shop up` has none unless SHOP_KAFKA_PLAINTEXT_PORT is set.
    kafka_plaintext: int | None = None

    @classmethod
    def free(cls, ports: Iterator[int] | None = None) -> PortPlan:
        """A plan of currently unused ports, so a second platform can run beside the first."""
        source = ports if ports is not None else free_ports()
        return cls(
            postgres=next(source),
            redis=next(source),
            kafka=next(source),
            kafka_controller=next(source),
            ferretdb=next(source),
            elasticsearch=next(source),
            elasticsearch_transport=next(source),
            smtp=next(source),
            gateway=next(source),
            gateway_metrics=next(source),
            grpc={name: next(source) for name in SERVICE_PORTS},
            metrics={name: next(source) for name in SERVICE_PORTS},
            kafka_plaintext=next(source),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PortPlan:
        """Defaults, each overridable by SHOP_<NAME>_PORT (SHOP_POSTGRES_PORT, SHOP_USER_PORT)."""
        env = Env(environ)
        base = cls()
        grpc = {n: env.port(f"SHOP_{n.upper()}_PORT", p) for n, p in base.grpc.items()}
        return cls(
            postgres=env.port("SHOP_POSTGRES_PORT", base.postgres),
            redis=env.port("SHOP_REDIS_PORT", base.redis),
            kafka=env.port("SHOP_KAFKA_PORT", base.kafka),
            kafka_controller=env.port("SHOP_KAFKA_CONTROLLER_PORT", base.kafka_controller),
            # SHOP_MONGODB_PORT: the variable's former name, still read.
            ferretdb=env.port("SHOP_FERRETDB_PORT", env.port("SHOP_MONGODB_PORT", base.ferretdb)),
            elasticsearch=env.port("SHOP_ELASTICSEARCH_PORT", base.elasticsearch),
            elasticsearch_transport=env.port(
                "SHOP_ELASTICSEARCH_TRANSPORT_PORT", base.elasticsearch_transport
            ),
            smtp=env.port("SHOP_SMTP_PORT", base.smtp),
            gateway=env.port("GATEWAY_PORT", base.gateway),
            gateway_metrics=env.port("GATEWAY_METRICS_PORT", base.gateway_metrics),
            grpc=grpc,
            metrics={
                n: env.port(f"SHOP_{n.upper()}_METRICS_PORT", p + METRICS_PORT_OFFSET)
                for n, p in grpc.items()
            },
            kafka_plaintext=(
                env.port("SHOP_KAFKA_PLAINTEXT_PORT")
                if environ.get("SHOP_KAFKA_PLAINTEXT_PORT", "").strip()
                else None
            ),
        )

    def to_env(self) -> dict[str, str]:
        """The variables `from_env` reads, so a child `shop` uses exactly this plan."""
        env = {
            "SHOP_POSTGRES_PORT": self.postgres,
            "SHOP_REDIS_PORT": self.redis,
            "SHOP_KAFKA_PORT": self.kafka,
            "SHOP_KAFKA_CONTROLLER_PORT": self.kafka_controller,
            "SHOP_FERRETDB_PORT": self.ferretdb,
            "SHOP_ELASTICSEARCH_PORT": self.elasticsearch,
            "SHOP_ELASTICSEARCH_TRANSPORT_PORT": self.elasticsearch_transport,
            "SHOP_SMTP_PORT": self.smtp,
            "GATEWAY_PORT": self.gateway,
            "GATEWAY_METRICS_PORT": self.gateway_metrics,
        }
        for name, port in self.grpc.items():
            env[f"SHOP_{name.upper()}_PORT"] = port
            env[f"SHOP_{name.upper()}_METRICS_PORT"] = self.metrics[name]
        if self.kafka_plaintext is not None:
            env["SHOP_KAFKA_PLAINTEXT_PORT"] = self.kafka_plaintext
        return {key: str(value) for key, value in env.items()}


def free_ports() -> Iterator[int]:
    """Yield distinct ports that the kernel reports free right now.

    The defaults of `shop up` are never handed out, so a test platform cannot take a port
    that a developer's `shop up` will want later.
    """
    seen: set[int] = set(_default_ports())
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in seen:
            seen.add(port)
            yield port


def _default_ports() -> set[int]:
    plan = PortPlan()
    return {
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
    }


@dataclass(frozen=True)
class PlatformConfig:
    """Everything the platform needs to decide before it starts anything."""

    repo_root: Path
    state_dir: Path
    cache_dir: Path
    ports: PortPlan
    external: Mapping[str, str]
    ci: bool = False

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        repo_root: Path,
        ports: PortPlan | None = None,
        state_dir: Path | None = None,
    ) -> PlatformConfig:
        env = Env(environ)
        state = state_dir or Path(env.string("SHOP_STATE_DIR", str(repo_root / ".shop")))
        default_cache = Path(env.string("XDG_CACHE_HOME", str(Path.home() / ".cache"))) / "shopmesh"
        return cls(
            repo_root=repo_root,
            state_dir=(repo_root / state).resolve() if not state.is_absolute() else state,
            cache_dir=Path(env.string("SHOP_CACHE_DIR", str(default_cache))).resolve(),
            ports=ports or PortPlan.from_env(environ),
            external={
                store: value
                for store, variable in STORE_URL_VARIABLES.items()
                if (value := environ.get(variable, "").strip())
            },
            ci=env.boolean("CI", False),
        )

    def provisions(self, store: str) -> bool:
        """Whether the platform starts this store itself (no external URL was given)."""
        return store not in self.external

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def stores_dir(self) -> Path:
        """Data of the servers that run under their own account (PostgreSQL, Elasticsearch),
        apart from the state directory: that one holds keys and credentials and stays private
        to whoever runs `shop` (0700), so those servers never reach it."""
        return self.state_dir.with_name(self.state_dir.name + "-stores")


def repo_root() -> Path:
    """The checkout this package lives in (launcher/config.py -> repo)."""
    return Path(__file__).resolve().parents[1]
