"""A real user service (its own `build`, the whole runtime) on PostgreSQL and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from shop.user.v1 import user_pb2_grpc

from mesh.platform.testing import DatabaseFactory
from services.user.main import build

from .harness import Running, service_running, user_environ


@pytest.fixture(scope="module")
async def user_service(
    postgres_dsn: DatabaseFactory, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    environ = user_environ(postgres_dsn, kafka_bootstrap, tmp_path_factory.mktemp("user"))
    async with service_running("user", build, environ) as running:
        yield running


@pytest.fixture
def users(user_service: Running) -> user_pb2_grpc.UserServiceAsyncStub:
    return user_pb2_grpc.UserServiceStub(user_service.channel)
