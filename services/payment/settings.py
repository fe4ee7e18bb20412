"""The payment service's configuration, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mesh.events.security import KafkaSecurity
from mesh.settings import Env, SettingsError

from .adapters.sandbox import SandboxLatency


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = field(repr=False)
    kafka_bootstrap_servers: str
    kafka_security: KafkaSecurity
    provider: str
    sandbox: SandboxLatency
    provider_timeout_seconds: float
    # Every charge in progress holds a connection (its row lock) while the processor answers.
    db_pool_max_size: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        min_latency = env.integer("PAYMENT_SANDBOX_MIN_LATENCY_MS", 20, minimum=0)
        max_latency = env.integer("PAYMENT_SANDBOX_MAX_LATENCY_MS", 80, minimum=0)
        if max_latency < min_latency:
            raise SettingsError(
                "PAYMENT_SANDBOX_MAX_LATENCY_MS", "must not be below PAYMENT_SANDBOX_MIN_LATENCY_MS"
            )
        return cls(
            database_url=env.url(
                "DATABASE_URL",
                ("postgresql", "postgres"),
                "postgresql://localhost:15432/shop_payment",
            ),
            kafka_bootstrap_servers=env.address("KAFKA_BOOTSTRAP_SERVERS", "localhost:19092"),
            kafka_security=KafkaSecurity.from_env(environ),
            provider=env.choice("PAYMENT_PROVIDER", ("sandbox",), "sandbox"),
            sandbox=SandboxLatency(
                min_seconds=min_latency / 1000,
                max_seconds=max_latency / 1000,
                slow_seconds=env.number("PAYMENT_SANDBOX_SLOW_SECONDS", 3.0, minimum=0.0),
            ),
            provider_timeout_seconds=env.number(
                "PAYMENT_PROVIDER_TIMEOUT_SECONDS", 10.0, minimum=0.1
            ),
            db_pool_max_size=env.pool_max_size(20, minimum=2),
        )
