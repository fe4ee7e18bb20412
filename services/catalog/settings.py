"""Catalog settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from mesh.events.security import KafkaSecurity
from mesh.settings import Env


@dataclass(frozen=True, slots=True)
class Settings:
    mongodb_url: str
    database: str
    kafka_bootstrap_servers: str
    kafka_security: KafkaSecurity
    # The relay wakes on this process's own writes; this is only its safety poll for events
    # other replicas (or a crashed process) left behind.
    outbox_poll_seconds: float
    consume_review_events: bool
    # The read cache; None runs the catalog without one (every read goes to the store).
    redis_url: str | None
    cache_ttl_seconds: float
    cache_local_seconds: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        mongodb_url = env.url("MONGODB_URL", ("mongodb",), "mongodb://localhost:37017/")
        # The database named in the URL, unless overridden; shop_catalog by default.
        named = urlsplit(mongodb_url).path.strip("/") or "shop_catalog"
        redis_url = (
            env.url("REDIS_URL", ("redis", "rediss")) if env.optional_string("REDIS_URL") else None
        )
        return cls(
            mongodb_url=mongodb_url,
            database=env.string("CATALOG_MONGODB_DATABASE", named),
            kafka_bootstrap_servers=env.address("KAFKA_BOOTSTRAP_SERVERS", "localhost:19092"),
            kafka_security=KafkaSecurity.from_env(environ),
            outbox_poll_seconds=env.number("CATALOG_OUTBOX_POLL_SECONDS", 5.0, minimum=0.01),
            consume_review_events=env.boolean("CATALOG_CONSUME_REVIEW_EVENTS", True),
            redis_url=redis_url,
            cache_ttl_seconds=env.number("CATALOG_CACHE_TTL_SECONDS", 30.0, minimum=0.1),
            cache_local_seconds=env.number("CATALOG_CACHE_LOCAL_SECONDS", 1.0, minimum=0.0),
        )
