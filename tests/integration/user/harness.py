"""Running real services in tests: their own `build` under the whole runtime, on port 0."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from grpc import aio

from launcher.testing import DatabaseFactory
from mesh.bootstrap import Build, Serving, serve
from mesh.settings import RuntimeSettings
from services.user.main import build as build_user

from ..service_harness import serve_environ

ADMIN_EMAIL = "root@shopmesh.test"
ADMIN_PASSWORD = "admin pass 1234"
ORDER_SECRET = "order-client-secret"
GATEWAY_SECRET = "gateway-client-secret"


@dataclass(frozen=True)
class Running:
    port: int
    channel: aio.Channel
    environ: Mapping[str, str]

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"


@asynccontextmanager
async def service_running(
    name: str, build: Build, environ: Mapping[str, str]
) -> AsyncIterator[Running]:
    """`serve` as in production (health, metrics, interceptors, background tasks) on port 0."""
    stop = asyncio.Event()
    serving: asyncio.Future[Serving] = asyncio.get_running_loop().create_future()
    settings = RuntimeSettings.from_env(name, environ)
    task = asyncio.create_task(
        serve(settings, build, environ, stop=stop, on_serving=serving.set_result)
    )
    watched: set[asyncio.Future[object]] = {task, serving}  # type: ignore[arg-type]
    done, _ = await asyncio.wait(watched, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if serving not in done:
        stop.set()
        await task  # raises the start failure
        raise RuntimeError(f"{name} did not start within 60 s")
    port = serving.result().grpc_port
    channel = aio.insecure_channel(f"localhost:{port}")
    try:
        yield Running(port, channel, environ)
    finally:
        await channel.close()
        stop.set()
        await task


def user_environ(
    postgres_dsn: DatabaseFactory, kafka_bootstrap: str, state_dir: Path, **overrides: str
) -> dict[str, str]:
    values = {
        "DATABASE_URL": postgres_dsn(),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "JWT_KEY_DIR": str(state_dir / "jwt-keys"),
        # Cheap hashing keeps the tests fast; production uses the argon2 defaults.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
        "LOGIN_ACCOUNT_SLOWDOWN_AFTER": "2",
        "LOGIN_ACCOUNT_LOCK_AFTER": "3",
        "LOGIN_CLIENT_SLOWDOWN_AFTER": "20",
        "LOGIN_CLIENT_LOCK_AFTER": "40",
        "SHOP_ADMIN_EMAIL": ADMIN_EMAIL,
        "SHOP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SERVICE_CLIENT_SECRETS": ",".join(
            f"{name}={hashlib.sha256(secret.encode()).hexdigest()}"
            for name, secret in (("order", ORDER_SECRET), ("gateway", GATEWAY_SECRET))
        ),
        # Tests sign many users up from one address; the limit itself has its own tests.
        "SIGN_UP_LIMIT_PER_CLIENT": "100000",
    }
    return serve_environ(state_dir, **{**values, **overrides})


def user_service_fixture(
    scope: Literal["module", "package"], *, with_redis: bool = False, **overrides: str
) -> Any:
    """A `user_service` fixture for a conftest (`user_service = user_service_fixture(...)`):
    the real user service, once per `scope`, with `overrides` in its environment (and the
    session's Redis for revoked sessions when `with_redis`). Typed Any: pytest names no public
    type for what its fixture decorator returns."""

    @pytest.fixture(scope=scope, name="user_service")
    async def user_service(
        postgres_dsn: DatabaseFactory,
        kafka_bootstrap: str,
        tmp_path_factory: pytest.TempPathFactory,
        request: pytest.FixtureRequest,
    ) -> AsyncIterator[Running]:
        state_dir = tmp_path_factory.mktemp("user")
        if with_redis:
            overrides["REDIS_URL"] = request.getfixturevalue("redis_url")
        environ = user_environ(postgres_dsn, kafka_bootstrap, state_dir, **overrides)
        async with service_running("user", build_user, environ) as running:
            yield running

    return user_service
