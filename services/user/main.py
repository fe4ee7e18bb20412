"""The one place that assembles the user service."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from redis.asyncio import Redis
from shop.user.v1 import user_pb2, user_pb2_grpc

from mesh.auth.forwarded import ClientAddresses
from mesh.auth.verified_tokens import caching_verifier
from mesh.bootstrap import Runtime
from mesh.clock import utc_now
from mesh.errors import InvalidArgumentError
from mesh.events import EventPublisher, Outbox, OutboxRelay
from mesh.postgres import open_pool, pool_probe
from mesh.server import ServiceSpec
from mesh.settings import SettingsError

from .adapters.events import PRODUCER, OutboxEvents
from .adapters.hashing import Argon2Hasher
from .adapters.password_screen import ZxcvbnScreen
from .adapters.postgres import PostgresUserStore
from .adapters.revocations import RedisSessionRevocations, UnpublishedRevocations
from .adapters.signing_keys import FileKeyStore
from .domain.verification import VerificationLinks
from .service_layer.accounts import Accounts, SignUpRules
from .service_layer.authentication import Authenticator, TokenSettings
from .service_layer.ports import SessionRevocations
from .servicer import UserServicer
from .settings import Settings

SERVICE_NAME = user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name

logger = logging.getLogger(__name__)


async def build(runtime: Runtime) -> ServiceSpec:
    settings = Settings.from_env(runtime.environ, runtime.settings.state_dir)
    # Each resource goes on the runtime's cleanup stack as soon as it is open: a failed later
    # step (a key directory that cannot be read, Kafka away) closes what was opened.
    pool = await open_pool(
        settings.database_url, package="services.user", max_size=settings.db_pool_max_size
    )
    runtime.cleanup.push_async_callback(pool.close)

    keys = FileKeyStore(
        settings.jwt_key_dir,
        rotate_after=settings.key_rotate_after,
        # Replicas notice a new key within one reload interval; until then they still sign
        # with the old one, so it stays published that much longer.
        keep_after_retirement=settings.access_ttl + 2 * _seconds(settings.key_reload_seconds),
    )
    await keys.refresh(utc_now())

    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, client_id=PRODUCER, security=settings.kafka_security
    )
    await publisher.start()
    runtime.cleanup.push_async_callback(publisher.stop)
    store = PostgresUserStore(pool, OutboxEvents(Outbox()))
    hasher = Argon2Hasher(
        settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism
    )
    sign_up = SignUpRules(
        links=VerificationLinks(
            base_url=settings.public_base_url,
            ttl=settings.verification_ttl,
            issuer=runtime.settings.jwt_issuer,
            audience=runtime.settings.jwt_audience,
        ),
        per_client=settings.sign_up_rule,
    )
    accounts = Accounts(store, hasher, ZxcvbnScreen(), keys, sign_up, utc_now)
    revocations: SessionRevocations = UnpublishedRevocations()
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        runtime.cleanup.push_async_callback(redis.aclose)
        revocations = RedisSessionRevocations(redis)
    else:
        logger.warning("REDIS_URL is not set: signed-out access tokens stay valid until expiry")
    auth = Authenticator(
        store,
        hasher,
        keys,
        TokenSettings(
            issuer=runtime.settings.jwt_issuer,
            audience=runtime.settings.jwt_audience,
            access_ttl=settings.access_ttl,
            refresh_ttl=settings.refresh_ttl,
        ),
        settings.login_policy,
        settings.service_client_secrets,
        revocations,
        utc_now,
    )
    if settings.admin_email and settings.admin_password:
        try:
            await accounts.ensure_admin(settings.admin_email, settings.admin_password)
        except InvalidArgumentError as error:
            problems = "; ".join(v.description for v in error.violations)
            raise SettingsError("SHOP_ADMIN_PASSWORD", problems) from None
    # The gateway's proof that it wrote x-forwarded-for is a service token, verified with this
    # service's own keys as every other token is.
    clients = ClientAddresses(
        caching_verifier(
            keys, issuer=runtime.settings.jwt_issuer, audience=runtime.settings.jwt_audience
        )
    )
    servicer = UserServicer(accounts, auth, lambda: keys.jwks(utc_now()), clients)

    async def reload_keys() -> None:
        # Picks up keys added to a mounted Secret, rotates when due, drops expired keys.
        while True:
            await asyncio.sleep(settings.key_reload_seconds)
            await keys.refresh(utc_now())

    async def purge_expired() -> None:
        # Expired refresh tokens and stale failure counters only cost space; drop them hourly.
        idle = timedelta(seconds=settings.login_policy.account.window_seconds)
        while True:
            await store.purge(utc_now(), idle)
            await asyncio.sleep(3600)

    return ServiceSpec(
        name="user",
        services=[SERVICE_NAME],
        register=[lambda server: user_pb2_grpc.add_UserServiceServicer_to_server(servicer, server)],
        probes={"postgres": pool_probe(pool)},
        background=[OutboxRelay(pool, publisher).run, reload_keys, purge_expired],
        key_source=keys,
    )


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
