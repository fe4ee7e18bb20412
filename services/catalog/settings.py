"""Catalog settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from mesh.settings import Env


@dataclass(frozen=True, slots=True)
class Settings:
    mongodb_url: str
    database: str
    kafka_bootstrap_servers: str
    outbox_poll_seconds: float
    consume_review_events: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        mongodb_url = env.url("MONGODB_URL", ("mongodb",), "mongodb://localhost:37017/")
        # The database named in the URL, unless overridden; shop_catalog by default.
        named = urlsplit(mongodb_url).path.strip("/") or "shop_catalog"
        return cls(
            mongodb_url=mongodb_url,
            database=env.string("CATALOG_MONGODB_DATABASE", named),
            kafka_bootstrap_servers=env.address("KAFKA_BOOTSTRAP_SERVERS", "localhost:19092"),
            outbox_poll_seconds=env.number("CATALOG_OUTBOX_POLL_SECONDS", 0.2, minimum=0.01),
            consume_review_events=env.boolean("CATALOG_CONSUME_REVIEW_EVENTS", True),
        )
