"""A real grpc.aio server for the test-only contract, on a free port, and gateways over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

# The unit suite's helpers (test contract compiler, signing keys) are shared, not copied.
from unit.gateway.gwfakes import Signer, StaticKeys
from unit.gateway.gwsupport import load_conformance

from gateway.app import GatewayApp
from gateway.bootstrap import build_app
from gateway.edge.ratelimit import WindowCounter
from gateway.settings import GatewaySettings
from mesh.auth.jwt import JwksCache, JwtVerifier
from mesh.settings import ClientSettings

from .gwserver import SERVICE, ConformanceServer, GatewayFactory, Recorder, handlers


@pytest.fixture(scope="session")
def conformance_pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    module: ModuleType = load_conformance(tmp_path_factory.mktemp("gwtest_gen"))
    return module


@pytest.fixture(scope="session")
async def test_server(conformance_pb2: ModuleType) -> AsyncIterator[ConformanceServer]:
    recorder = Recorder()
    server = aio.server()
    server.add_generic_rpc_handlers((handlers(conformance_pb2, recorder),))
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    await servicer.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
    port = server.add_insecure_port("127.0.0.1:0")
    if port == 0:
        raise RuntimeError("the test gRPC server could not bind a port")
    await server.start()
    yield ConformanceServer(port, recorder, servicer)
    await server.stop(0)


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer()


@pytest.fixture
async def make_gateway(
    conformance_pb2: ModuleType, test_server: ConformanceServer, signer: Signer
) -> AsyncIterator[GatewayFactory]:
    apps: list[GatewayApp] = []

    def build(
        address: str | None = None, counter: WindowCounter | None = None, **overrides: Any
    ) -> GatewayApp:
        clients = ClientSettings(addresses={"gwtest": address or f"127.0.0.1:{test_server.port}"})
        settings = replace(GatewaySettings(clients=clients), **overrides)
        app = build_app(
            settings,
            list(conformance_pb2.DESCRIPTOR.services_by_name.values()),
            verifier=JwtVerifier(
                JwksCache(StaticKeys(signer)), issuer="shopmesh", audience="shopmesh"
            ),
            counter=counter,
        )
        apps.append(app)
        return app

    yield build
    for app in apps:
        await app.close()
