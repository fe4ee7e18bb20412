"""Certificates rotate under a running sidecar: it presents the new one without a restart and
keeps serving, and a client certificate from another CA gets no service."""

from __future__ import annotations

import asyncio
import datetime
import json
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc

from launcher.process import pid_alive, read_pid
from launcher.sidecars.ca import LocalCA, write_private
from launcher.sidecars.identities import CertificateRotator, WorkloadIdentities
from launcher.testing import RunningPlatform

from .meshclient import identity_channel, mesh_of, workload_channel

pytestmark = pytest.mark.integration


def _presented_serial(platform: RunningPlatform, service: str) -> int:
    """The serial of the certificate `service`'s sidecar shows in a TLS handshake."""
    mesh = mesh_of(platform)
    files = mesh.identity_files("gateway")
    context = ssl.create_default_context(cafile=str(mesh.trusted_ca))
    context.load_cert_chain(str(files.certificate), str(files.private_key))
    context.set_alpn_protocols(["h2"])
    host, port = mesh.inbound_address(service).rsplit(":", 1)
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=service) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return int(x509.load_der_x509_certificate(der).serial_number)


async def _serving(channel: grpc.aio.Channel) -> bool:
    async with channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


async def test_a_rotated_certificate_is_served_without_a_restart(
    shop_mesh_platform: RunningPlatform,
) -> None:
    mesh = mesh_of(shop_mesh_platform)
    pid_file = shop_mesh_platform.platform.config.run_dir / "catalog-sidecar.pid"
    pid_before = read_pid(pid_file)
    serial_before = _presented_serial(shop_mesh_platform, "catalog")

    issued = mesh.identities.issue("catalog")
    assert issued.serial != serial_before

    deadline = time.monotonic() + 15
    while _presented_serial(shop_mesh_platform, "catalog") != issued.serial:
        assert time.monotonic() < deadline, "the sidecar never presented the new certificate"
        await asyncio.sleep(0.2)
    assert await _serving(workload_channel(shop_mesh_platform, "gateway", "catalog"))
    # The catalog's own outbound calls use the new certificate too (its identity is its SDS).
    assert await _serving(workload_channel(shop_mesh_platform, "catalog", "user"))
    assert read_pid(pid_file) == pid_before
    assert pid_before is not None and pid_alive(pid_before)


def test_certificates_are_due_for_rotation_before_they_expire(
    shop_mesh_platform: RunningPlatform,
) -> None:
    identities = mesh_of(shop_mesh_platform).identities
    issued = identities.issue("search")
    assert "search" not in identities.due()
    late = issued.not_after - identities.lifetime * 0.4
    assert "search" in identities.due(late)


def test_the_ca_key_and_certificates_are_private(shop_mesh_platform: RunningPlatform) -> None:
    mesh = mesh_of(shop_mesh_platform)
    for path in [
        mesh.directory / "ca" / "ca-key.pem",
        mesh.identity_files("order").private_key,
        mesh.identity_files("order").sds,
    ]:
        assert path.stat().st_mode & 0o777 == 0o600, path


async def test_a_certificate_from_another_ca_gets_no_service(
    shop_mesh_platform: RunningPlatform, tmp_path: Path
) -> None:
    mesh = mesh_of(shop_mesh_platform)
    impostor = LocalCA.create("impostor CA").issue(
        mesh.spiffe_id("order"), datetime.timedelta(minutes=10), "order"
    )
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    write_private(certificate, impostor.certificate_pem)
    write_private(key, impostor.private_key_pem)
    for service in mesh.services:
        channel = identity_channel(
            shop_mesh_platform, service, certificate=certificate, private_key=key
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _serving(channel)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, service


def test_the_rotator_reissues_certificates_at_half_life(tmp_path: Path) -> None:
    identities = WorkloadIdentities(
        LocalCA.load_or_create(tmp_path / "ca"),
        tmp_path / "identities",
        {"catalog": "spiffe://cluster.local/ns/test/sa/catalog"},
        lifetime=datetime.timedelta(seconds=4),
        secret_of=lambda certificate, key: {"certificate": certificate},
    )
    identities.issue_all()
    first = identities.current("catalog")
    assert first is not None
    rotator = CertificateRotator(identities, check_every=0.1)
    rotator.start()
    try:
        deadline = time.monotonic() + 5
        while (current := identities.current("catalog")) is None or current.serial == first.serial:
            assert time.monotonic() < deadline, "the certificate was not rotated"
            time.sleep(0.1)
    finally:
        rotator.stop()
    # Rotated before the old one expired, and the new one is written where Envoy reads it.
    assert datetime.datetime.now(datetime.UTC) < first.not_after
    written = json.loads(identities.files("catalog").sds.read_text())
    assert written == {"certificate": current.certificate_pem}
