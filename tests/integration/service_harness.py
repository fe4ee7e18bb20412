"""Pieces every service's integration tests share: real servers on port 0, test tokens, Kafka.

A service runs assembled by its own `build`, on a real grpc.aio server with the runtime's
interceptors; `TokenKeys` signs tokens the way the user service would and serves the JWKS
that verifies them.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jwt
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from opentelemetry.sdk.trace import TracerProvider
from shop.common.v1 import common_pb2

from mesh import rbac
from mesh.auth.jwt import JwksCache, JwtVerifier
from mesh.auth.service_token import IssuedToken, ServiceTokenProvider
from mesh.bootstrap import Build, Runtime
from mesh.cancellation import cancel_and_wait
from mesh.clients import ChannelFactory
from mesh.events import Event
from mesh.metrics import ServerMetrics
from mesh.server import ServiceSpec, create_server
from mesh.settings import RuntimeSettings

ISSUER = AUDIENCE = "shopmesh"
Metadata = tuple[tuple[str, str], ...]
T = TypeVar("T")


class TokenKeys:
    """Signs tokens like the user service would, and serves the JWKS to verify them."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = f"test-{uuid.uuid4().hex[:8]}"

    async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return [{**jwk, "kid": self._kid, "use": "sig", "alg": "RS256"}]

    def token(self, subject: str, *roles: str) -> str:
        now = int(time.time())
        claims = {
            "sub": subject,
            "roles": list(roles),
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 900,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})

    def metadata(self, subject: str, *roles: str) -> Metadata:
        return (("authorization", f"Bearer {self.token(subject, *roles)}"),)

    def verifier(self) -> JwtVerifier:
        return JwtVerifier(JwksCache(self), issuer=ISSUER, audience=AUDIENCE)


class StaticIssuer:
    """Hands out one fixed service token, in place of the user service's IssueServiceToken."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def issue(self) -> IssuedToken:
        return IssuedToken(self._token, 900.0)


@dataclass(frozen=True)
class Running:
    port: int
    host: str = "localhost"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@asynccontextmanager
async def serving(
    spec: ServiceSpec, keys: TokenKeys, *, host: str = "localhost"
) -> AsyncIterator[Running]:
    """The spec on a real grpc.aio server (port 0) with the runtime's interceptors.

    `host` is only the name clients use for the address; the server listens on all of them.
    """
    server, port = create_server(spec, verifier=keys.verifier(), metrics=ServerMetrics())
    await server.start()
    tasks = [asyncio.ensure_future(task()) for task in spec.background]
    try:
        yield Running(port, host)
    finally:
        await server.stop(0)
        await cancel_and_wait(tasks)
        for cleanup in reversed(spec.cleanup):
            await cleanup()


@asynccontextmanager
async def run_service(
    name: str,
    build: Build,
    environ: Mapping[str, str],
    keys: TokenKeys,
    *,
    service_subject: str | None = None,
    host: str = "localhost",
) -> AsyncIterator[Running]:
    """A service assembled by its own `build`, served by `serving`.

    With `service_subject`, its outgoing calls without a caller carry a service token for
    that subject signed by `keys`; without, they carry no token.
    """
    settings = RuntimeSettings.from_env(name, environ)
    service_tokens = None
    if service_subject is not None:
        issuer = StaticIssuer(keys.token(service_subject, rbac.SERVICE))
        service_tokens = ServiceTokenProvider(issuer)
    channels = ChannelFactory(settings.clients, service_tokens=service_tokens)
    runtime = Runtime(settings, environ, channels, TracerProvider())
    try:
        # What build registered on the cleanup stack closes after the server stopped.
        async with runtime.cleanup:
            spec = await build(runtime)
            async with serving(spec, keys, host=host) as running:
                yield running
    finally:
        await channels.close()


def serve_environ(state_dir: Path, **values: str) -> dict[str, str]:
    """The environment of a service run by `serve` in a test: gRPC and metrics on free ports,
    a short shutdown grace and its own state directory, plus `values`."""
    return {
        "GRPC_PORT": "0",
        "METRICS_PORT": "0",
        "GRPC_GRACE_SECONDS": "1",
        "SHOP_STATE_DIR": str(state_dir),
        **values,
    }


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="USD", units=minor // 100, nanos=minor % 100 * 10**7)


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    timeout: float = 15.0,
    interval: float = 0.2,
) -> T:
    """Polls `probe` until `accept` holds for its result; fails with the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if accept(result):
            return result
        assert time.monotonic() < deadline, f"still not there after {timeout}s: {result}"
        await asyncio.sleep(interval)


async def read_events(
    bootstrap: str,
    topic: str,
    aggregate_id: str,
    until: Callable[[list[Event]], bool],
    *,
    timeout: float = 30.0,
) -> list[Event]:
    """The events of one aggregate on `topic`, read from the beginning until `until` holds."""
    consumer: Any = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        metadata_max_age_ms=500,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        events: list[Event] = []
        while not until(events):
            assert time.monotonic() < deadline, f"gave up with {len(events)} events"
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = Event.FromString(record.value)
                    if event.aggregate_id == aggregate_id:
                        events.append(event)
        return events
    finally:
        await consumer.stop()
