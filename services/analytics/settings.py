"""The analytics service's configuration, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mesh.events.security import KafkaSecurity
from mesh.settings import Env


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = field(repr=False)
    db_pool_max_size: int
    kafka_bootstrap_servers: str
    kafka_security: KafkaSecurity
    consumer_group: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        return cls(
            database_url=env.url(
                "DATABASE_URL",
                ("postgresql", "postgres"),
                "postgresql://localhost:15432/shop_analytics",
            ),
            db_pool_max_size=env.pool_max_size(10, minimum=2),
            kafka_bootstrap_servers=env.address("KAFKA_BOOTSTRAP_SERVERS", "localhost:19092"),
            kafka_security=KafkaSecurity.from_env(environ),
            consumer_group=env.string("ANALYTICS_CONSUMER_GROUP", "analytics"),
        )
