"""The user service's configuration, read once from the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from mesh.events.security import KafkaSecurity
from mesh.settings import Env, SettingsError

from .domain.throttle import LoginPolicy, ThrottleRule, signup_rule

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = field(repr=False)
    kafka_bootstrap_servers: str
    kafka_security: KafkaSecurity
    jwt_key_dir: Path
    access_ttl: timedelta
    refresh_ttl: timedelta
    key_rotate_after: timedelta
    key_reload_seconds: float
    argon2_time_cost: int
    argon2_memory_cost_kib: int
    argon2_parallelism: int
    login_policy: LoginPolicy
    # client id -> sha256 hex of its secret
    service_client_secrets: Mapping[str, str] = field(repr=False)
    admin_email: str | None
    admin_password: str | None = field(repr=False)
    db_pool_max_size: int
    # Where revoked sessions are published for the gateway; None: they are not.
    redis_url: str | None = field(repr=False)
    # The address shoppers reach the gateway at: verification links start with it.
    public_base_url: str
    verification_ttl: timedelta
    sign_up_rule: ThrottleRule

    @classmethod
    def from_env(cls, environ: Mapping[str, str], state_dir: Path) -> Settings:
        env = Env(environ)
        admin_email = env.optional_string("SHOP_ADMIN_EMAIL")
        admin_password = env.optional_string("SHOP_ADMIN_PASSWORD")
        if (admin_email is None) != (admin_password is None):
            missing = "SHOP_ADMIN_PASSWORD" if admin_password is None else "SHOP_ADMIN_EMAIL"
            raise SettingsError(missing, "must be set together with the other admin variable")
        window = env.integer("LOGIN_WINDOW_SECONDS", 900, minimum=1)
        lock = env.integer("LOGIN_LOCK_SECONDS", 900, minimum=1)
        return cls(
            database_url=env.url(
                "DATABASE_URL", ("postgresql", "postgres"), "postgresql://localhost:15432/shop_user"
            ),
            kafka_bootstrap_servers=env.address("KAFKA_BOOTSTRAP_SERVERS", "localhost:19092"),
            kafka_security=KafkaSecurity.from_env(environ),
            jwt_key_dir=Path(env.string("JWT_KEY_DIR", str(state_dir / "user" / "jwt-keys"))),
            access_ttl=timedelta(
                seconds=env.integer("JWT_ACCESS_TTL_SECONDS", 900, minimum=30, maximum=86_400)
            ),
            refresh_ttl=timedelta(
                seconds=env.integer("JWT_REFRESH_TTL_SECONDS", 14 * 86_400, minimum=60)
            ),
            key_rotate_after=timedelta(
                seconds=env.integer("JWT_KEY_ROTATE_AFTER_SECONDS", 30 * 86_400, minimum=60)
            ),
            key_reload_seconds=env.number("JWT_KEY_RELOAD_SECONDS", 60.0, minimum=1.0),
            argon2_time_cost=env.integer("ARGON2_TIME_COST", 3, minimum=1),
            argon2_memory_cost_kib=env.integer("ARGON2_MEMORY_COST", 65_536, minimum=8),
            argon2_parallelism=env.integer("ARGON2_PARALLELISM", 4, minimum=1, maximum=64),
            login_policy=LoginPolicy(
                account=ThrottleRule(
                    slowdown_after=env.integer("LOGIN_ACCOUNT_SLOWDOWN_AFTER", 3, minimum=1),
                    lock_after=env.integer("LOGIN_ACCOUNT_LOCK_AFTER", 10, minimum=1),
                    window_seconds=window,
                    lock_seconds=lock,
                ),
                client=ThrottleRule(
                    slowdown_after=env.integer("LOGIN_CLIENT_SLOWDOWN_AFTER", 10, minimum=1),
                    lock_after=env.integer("LOGIN_CLIENT_LOCK_AFTER", 50, minimum=1),
                    window_seconds=window,
                    lock_seconds=lock,
                ),
                alert_after=env.integer("LOGIN_ACCOUNT_ALERT_AFTER", 5, minimum=1),
                under_attack_after=env.integer("LOGIN_ACCOUNT_UNDER_ATTACK_AFTER", 20, minimum=1),
            ),
            service_client_secrets=_client_secrets(env.csv("SERVICE_CLIENT_SECRETS")),
            admin_email=admin_email,
            admin_password=admin_password,
            db_pool_max_size=env.pool_max_size(10, minimum=1),
            redis_url=env.optional_string("REDIS_URL"),
            public_base_url=env.url(
                "SHOP_PUBLIC_BASE_URL", ("http", "https"), "http://localhost:8080"
            ),
            verification_ttl=timedelta(
                seconds=env.integer("EMAIL_VERIFICATION_TTL_SECONDS", 2 * 86_400, minimum=60)
            ),
            sign_up_rule=signup_rule(
                env.integer("SIGN_UP_LIMIT_PER_CLIENT", 50, minimum=1),
                env.integer("SIGN_UP_WINDOW_SECONDS", 3600, minimum=1),
            ),
        )


def _client_secrets(entries: tuple[str, ...]) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for entry in entries:
        name, sep, digest = entry.partition("=")
        name, digest = name.strip(), digest.strip().lower()
        if not sep or not _CLIENT_ID.match(name) or not _SHA256_HEX.match(digest):
            raise SettingsError(
                "SERVICE_CLIENT_SECRETS",
                "expected comma-separated name=<sha256 hex of the secret> entries",
            )
        secrets[name] = digest
    return secrets
