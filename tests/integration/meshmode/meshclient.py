"""Calling services through their sidecars as one workload identity, as its peers would."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import grpc
from grpc import aio
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.common.v1 import common_pb2
from shop.user.v1 import user_pb2, user_pb2_grpc

from launcher.sidecars.meshmode import Mesh
from launcher.testing import RunningPlatform


def mesh_of(platform: RunningPlatform) -> Mesh:
    assert platform.mesh is not None, "the platform was not started in mesh mode"
    return platform.mesh


def identity_channel(
    platform: RunningPlatform,
    service: str,
    *,
    certificate: Path,
    private_key: Path,
    trusted_ca: Path | None = None,
) -> aio.Channel:
    """An mTLS channel to `service`'s sidecar presenting the given client certificate."""
    mesh = mesh_of(platform)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(trusted_ca or mesh.trusted_ca).read_bytes(),
        private_key=private_key.read_bytes(),
        certificate_chain=certificate.read_bytes(),
    )
    return aio.secure_channel(
        mesh.inbound_address(service),
        credentials,
        # The sidecar's certificate names the workload (DNS SAN) besides its SPIFFE id.
        options=[("grpc.ssl_target_name_override", service)],
    )


def workload_channel(platform: RunningPlatform, caller: str, service: str) -> aio.Channel:
    """A channel to `service`'s sidecar with `caller`'s own workload certificate."""
    files = mesh_of(platform).identity_files(caller)
    return identity_channel(
        platform, service, certificate=files.certificate, private_key=files.private_key
    )


def plaintext_channel(platform: RunningPlatform, service: str) -> aio.Channel:
    return aio.insecure_channel(mesh_of(platform).inbound_address(service))


async def service_token(platform: RunningPlatform, workload: str) -> str:
    """`workload`'s service token, fetched through the user service's sidecar as `workload`."""
    secret = platform.platform.credentials.client_secrets[workload]
    async with workload_channel(platform, workload, "user") as channel:
        stub: Any = user_pb2_grpc.UserServiceStub(channel)
        reply = await stub.IssueServiceToken(
            user_pb2.IssueServiceTokenRequest(client_id=workload, client_secret=secret), timeout=10
        )
    return str(reply.access_token)


async def admin_token(platform: RunningPlatform) -> str:
    async with workload_channel(platform, "gateway", "user") as channel:
        stub: Any = user_pb2_grpc.UserServiceStub(channel)
        reply = await stub.Login(
            user_pb2.LoginRequest(email=platform.admin_email, password=platform.admin_password),
            timeout=10,
        )
    return str(reply.access_token)


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def product_with_stock(platform: RunningPlatform) -> str:
    admin = await admin_token(platform)
    async with workload_channel(platform, "gateway", "catalog") as channel:
        stub: Any = catalog_pb2_grpc.CatalogServiceStub(channel)
        product = catalog_pb2.Product(
            name=f"Mesh probe {secrets.token_hex(3)}",
            description="reserved by the mesh tests",
            price=common_pb2.Money(currency_code="USD", units=5),
            category="mesh-tests",
            inventory=10,
        )
        created = await stub.CreateProduct(
            catalog_pb2.CreateProductRequest(product=product), metadata=bearer(admin), timeout=10
        )
    return str(created.id)
