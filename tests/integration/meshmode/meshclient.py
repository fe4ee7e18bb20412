"""Calling services through their sidecars as one workload identity, as its peers would."""

from __future__ import annotations

from pathlib import Path

import grpc
from grpc import aio

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
