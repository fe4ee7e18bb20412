"""Search settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mesh.events.security import KafkaSecurity
from mesh.settings import Env


@dataclass(frozen=True, slots=True)
class Settings:
    elasticsearch_url: str
    # Name of the alias searches read through; the indices behind it are `<alias>_v...`.
    index_alias: str
    kafka_bootstrap_servers: str
    kafka_security: KafkaSecurity
    consumer_group: str
    # Seconds a replaced index stays after the alias swap, for searches still running on it.
    reindex_grace_seconds: float
    reindex_page_size: int
    # Seconds an answer is shared with identical searches (0: every search asks the index).
    recent_results_seconds: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        return cls(
            elasticsearch_url=env.url(
                "ELASTICSEARCH_URL", ("http", "https"), "http://localhost:19200"
            ),
            index_alias=env.string("SEARCH_INDEX_ALIAS", "products"),
            kafka_bootstrap_servers=env.address("KAFKA_BOOTSTRAP_SERVERS", "localhost:19092"),
            kafka_security=KafkaSecurity.from_env(environ),
            consumer_group=env.string("SEARCH_CONSUMER_GROUP", "search"),
            reindex_grace_seconds=env.number("SEARCH_REINDEX_GRACE_SECONDS", 5.0, minimum=0.0),
            reindex_page_size=env.integer("SEARCH_REINDEX_PAGE_SIZE", 100, minimum=1, maximum=100),
            recent_results_seconds=env.number("SEARCH_RECENT_RESULTS_SECONDS", 1.0, minimum=0.0),
        )
