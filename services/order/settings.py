"""The order service's settings, read once from the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from mesh.events.security import KafkaSecurity
from mesh.settings import Env, SettingsError

from .adapters.downstream import CallPolicy
from .domain.pricing import BASIS_POINTS, PricingPolicy
from .service_layer.recovery import RecoveryPolicy
from .service_layer.saga import SagaPolicy

_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    db_pool_max_size: int
    kafka_bootstrap_servers: str
    kafka_security: KafkaSecurity
    currency: str
    pricing: PricingPolicy
    downstream: CallPolicy
    payment: CallPolicy
    saga: SagaPolicy
    recovery: RecoveryPolicy
    recovery_enabled: bool
    drain_timeout_seconds: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = Env(environ)
        currency = env.string("ORDER_CURRENCY", "USD")
        if not _CURRENCY.fullmatch(currency):
            raise SettingsError("ORDER_CURRENCY", f"expected an ISO 4217 code, got {currency!r}")
        return cls(
            database_url=env.url(
                "DATABASE_URL",
                ("postgresql", "postgres"),
                "postgresql://postgres@localhost:15432/shop_order",
            ),
            db_pool_max_size=env.pool_max_size(20, minimum=2),
            kafka_bootstrap_servers=env.address("KAFKA_BOOTSTRAP_SERVERS", "localhost:19092"),
            kafka_security=KafkaSecurity.from_env(environ),
            currency=currency,
            pricing=PricingPolicy(
                tax_rate_bps=env.integer("TAX_RATE_BPS", 0, minimum=0, maximum=BASIS_POINTS),
                shipping_fee_minor=env.integer("SHIPPING_FEE_MINOR", 499, minimum=0),
                free_shipping_threshold_minor=env.integer(
                    "FREE_SHIPPING_THRESHOLD_MINOR", 5000, minimum=0
                ),
            ),
            downstream=CallPolicy(
                try_timeout_seconds=env.number("DOWNSTREAM_TIMEOUT_SECONDS", 3.0, minimum=0.1),
                attempts=env.integer("DOWNSTREAM_ATTEMPTS", 3, minimum=1),
                backoff_seconds=0.2,
            ),
            # A slow provider answers after one try's timeout; the retries (same idempotency
            # key) then get the stored result, so attempts x timeout must outlast it.
            payment=CallPolicy(
                try_timeout_seconds=env.number("PAYMENT_TRY_TIMEOUT_SECONDS", 2.0, minimum=0.1),
                attempts=env.integer("PAYMENT_ATTEMPTS", 4, minimum=1),
                backoff_seconds=env.number("PAYMENT_RETRY_BACKOFF_SECONDS", 0.25, minimum=0.0),
            ),
            saga=SagaPolicy(
                checkout_timeout=timedelta(
                    seconds=env.integer("CHECKOUT_TIMEOUT_SECONDS", 900, minimum=1)
                )
            ),
            recovery=RecoveryPolicy(
                interval=timedelta(
                    seconds=env.number("SAGA_RECOVERY_INTERVAL_SECONDS", 10.0, minimum=0.05)
                ),
                grace=timedelta(
                    seconds=env.number("SAGA_RECOVERY_GRACE_SECONDS", 30.0, minimum=0.0)
                ),
            ),
            recovery_enabled=env.boolean("SAGA_RECOVERY_ENABLED", True),
            drain_timeout_seconds=env.number("ORDER_DRAIN_TIMEOUT_SECONDS", 15.0, minimum=0.0),
        )
