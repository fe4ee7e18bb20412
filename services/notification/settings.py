"""The notification service's configuration, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mesh.events.security import KafkaSecurity
from mesh.settings import Env, SettingsError

from .domain.delivery import DeliveryPolicy


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = field(repr=False)
    db_pool_max_size: int
    kafka_bootstrap_servers: str
    kafka_security: KafkaSecurity
    smtp_url: str = field(repr=False)
    smtp_from: str
    smtp_timeout_seconds: float
    message_id_domain: str
    delivery: DeliveryPolicy
    # Where the sandbox SMS provider writes what it would send (JSON lines).
    sms_sandbox_file: Path
    consumer_group: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        smtp_timeout = env.number("SMTP_TIMEOUT_SECONDS", 10.0, minimum=0.1)
        lease = env.number("NOTIFICATION_SENDING_LEASE_SECONDS", 60.0, minimum=1.0)
        if lease <= smtp_timeout:
            raise SettingsError(
                "NOTIFICATION_SENDING_LEASE_SECONDS", "must exceed SMTP_TIMEOUT_SECONDS"
            )
        state_dir = Path(env.string("SHOP_STATE_DIR", ".shop"))
        return cls(
            database_url=env.url(
                "DATABASE_URL",
                ("postgresql", "postgres"),
                "postgresql://localhost:15432/shop_notification",
            ),
            db_pool_max_size=env.pool_max_size(10, minimum=3),
            kafka_bootstrap_servers=env.address("KAFKA_BOOTSTRAP_SERVERS", "localhost:19092"),
            kafka_security=KafkaSecurity.from_env(environ),
            smtp_url=env.url("SMTP_URL", ("smtp", "smtps"), "smtp://localhost:10025"),
            smtp_from=env.string("SMTP_FROM", "shopmesh <no-reply@shopmesh.local>"),
            smtp_timeout_seconds=smtp_timeout,
            message_id_domain=env.string("NOTIFICATION_MESSAGE_ID_DOMAIN", "shopmesh.local"),
            delivery=DeliveryPolicy(
                max_attempts=env.integer("NOTIFICATION_MAX_ATTEMPTS", 5, minimum=1),
                first_backoff_seconds=env.number(
                    "NOTIFICATION_RETRY_BACKOFF_SECONDS", 1.0, minimum=0.0
                ),
                max_backoff_seconds=env.number(
                    "NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS", 30.0, minimum=0.0
                ),
                sending_lease_seconds=lease,
            ),
            sms_sandbox_file=Path(
                env.string("SMS_SANDBOX_FILE", str(state_dir / "notification" / "sms.jsonl"))
            ),
            consumer_group=env.string("NOTIFICATION_CONSUMER_GROUP", "notification"),
        )
