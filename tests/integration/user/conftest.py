"""A real user service (its own `build`, the whole runtime) on PostgreSQL and Kafka."""

from __future__ import annotations

import pytest
from shop.user.v1 import user_pb2_grpc

from .harness import Running, user_service_fixture

user_service = user_service_fixture("module", with_redis=True)


@pytest.fixture
def users(user_service: Running) -> user_pb2_grpc.UserServiceAsyncStub:
    return user_pb2_grpc.UserServiceStub(user_service.channel)
