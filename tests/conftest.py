"""Real backing servers for the tests, started lazily on free ports with a private state dir.

Each fixture starts its server on first use and the whole set stops at the end of the session.
`shop_platform` starts every existing service and the gateway on top (for tests/e2e).
A server that cannot start makes the test error with the reason; nothing is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from launcher.infra import Infrastructure
from launcher.testing import (
    DatabaseFactory,
    RunningPlatform,
    SmtpCapture,
    discard,
    session_infrastructure,
    start_platform,
)
from launcher.testing import (
    smtp_capture as start_smtp_capture,
)


@pytest.fixture(scope="session")
def shop_infra() -> Iterator[Infrastructure]:
    """The session's private set of stores (started one by one by the fixtures below)."""
    infra = session_infrastructure()
    yield infra
    discard(infra)


@pytest.fixture(scope="session")
def postgres_dsn(shop_infra: Infrastructure) -> DatabaseFactory:
    """Call it to get the DSN of a fresh database: `dsn = postgres_dsn()`."""
    shop_infra.ensure(["postgres"])
    return DatabaseFactory(shop_infra)


@pytest.fixture(scope="session")
def redis_url(shop_infra: Infrastructure) -> str:
    shop_infra.ensure(["redis"])
    return shop_infra.url("redis")


@pytest.fixture(scope="session")
def kafka_bootstrap(shop_infra: Infrastructure) -> str:
    """The broker's loopback plaintext listener: test clients play any service at once.
    Services started by `shop_platform` use SASL_SSL with their own users instead."""
    shop_infra.ensure(["kafka"])
    return shop_infra.kafka_test_url()


@pytest.fixture(scope="session")
def ferretdb_url(shop_infra: Infrastructure) -> str:
    """A MongoDB-protocol URL of the session's FerretDB."""
    shop_infra.ensure(["ferretdb"])
    return shop_infra.url("ferretdb")


@pytest.fixture(scope="session")
def elasticsearch_url(shop_infra: Infrastructure) -> str:
    shop_infra.ensure(["elasticsearch"])
    return shop_infra.url("elasticsearch")


@pytest.fixture(scope="session")
def smtp_capture(shop_infra: Infrastructure) -> SmtpCapture:
    return start_smtp_capture(shop_infra)


@pytest.fixture(scope="session")
def shop_platform(shop_infra: Infrastructure) -> Iterator[RunningPlatform]:
    """The whole platform (every existing service + gateway) on this session's stores.

    `.base_url` (gateway), `.grpc_addresses["user"]`, `.admin_email`/`.admin_password`,
    `.mailbox` (captured mail). Errors, naming the component, when anything fails to start.
    """
    mesh = mesh_requested()
    running = start_platform(shop_infra, mesh=mesh, replicas=MESH_REPLICAS if mesh else None)
    yield running
    running.platform.stop()


# In mesh mode the catalog runs twice, so that the sidecars can retry around a lost replica.
MESH_REPLICAS = {"catalog": 2}


def mesh_requested() -> bool:
    """SHOP_E2E_MESH=1 runs `shop_platform` in mesh mode (`make test-mesh`)."""
    return os.environ.get("SHOP_E2E_MESH", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def shop_mesh_platform(
    request: pytest.FixtureRequest, shop_infra: Infrastructure
) -> Iterator[RunningPlatform]:
    """The platform in mesh mode: `shop_platform` itself under SHOP_E2E_MESH=1, otherwise
    a mesh platform of its own on this session's stores."""
    if mesh_requested():
        yield request.getfixturevalue("shop_platform")
        return
    running = start_platform(shop_infra, mesh=True, replicas=MESH_REPLICAS)
    yield running
    running.platform.stop()
