"""Review settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
    # How long a review may wait for its rating change before the repair loop records it
    # (covers a process that died between storing a review and counting it).
    repair_after_seconds: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        return cls(
            mongodb_url=env.url("MONGODB_URL", ("mongodb",), "mongodb://localhost:37017/"),
            database=env.string("REVIEW_MONGODB_DATABASE", "shop_review"),
            kafka_bootstrap_servers=env.address("KAFKA_BOOTSTRAP_SERVERS", "localhost:19092"),
            kafka_security=KafkaSecurity.from_env(environ),
            outbox_poll_seconds=env.number("REVIEW_OUTBOX_POLL_SECONDS", 5.0, minimum=0.01),
            repair_after_seconds=env.number("REVIEW_REPAIR_AFTER_SECONDS", 30.0, minimum=0.0),
        )
