"""Cart settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mesh.events.security import KafkaSecurity
from mesh.settings import Env

THIRTY_DAYS_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Settings:
    redis_url: str
    cart_ttl_seconds: int
    kafka_bootstrap_servers: str
    kafka_security: KafkaSecurity
    default_currency: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        return cls(
            redis_url=env.url("REDIS_URL", ("redis", "rediss"), "redis://localhost:16379/0"),
            cart_ttl_seconds=env.integer("CART_TTL_SECONDS", THIRTY_DAYS_SECONDS, minimum=1),
            kafka_bootstrap_servers=env.address("KAFKA_BOOTSTRAP_SERVERS", "localhost:19092"),
            kafka_security=KafkaSecurity.from_env(environ),
            default_currency=env.string("CART_DEFAULT_CURRENCY", "USD"),
        )
