"""Workload certificates: issued by the local CA, handed to each sidecar through a file-based
SDS secret, and rotated before they expire without restarting anything."""

from __future__ import annotations

import datetime
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from launcher.sidecars.ca import IssuedCertificate, LocalCA, write_private
from mesh.clock import utc_now

logger = logging.getLogger(__name__)

DEFAULT_LIFETIME: Final = datetime.timedelta(hours=1)
# Rotate once half of a certificate's life is gone, as Istio's agent does.
ROTATE_AT_FRACTION: Final = 0.5
DEVELOPER: Final = "developer"


@dataclass(frozen=True)
class IdentityFiles:
    """Where one identity's secrets live: the SDS file (for Envoy) and plain PEM files (for
    grpcurl and tests)."""

    sds: Path
    certificate: Path
    private_key: Path


class WorkloadIdentities:
    """Issues and re-issues the certificate of every workload under `directory`."""

    def __init__(
        self,
        ca: LocalCA,
        directory: Path,
        spiffe_ids: Mapping[str, str],
        *,
        lifetime: datetime.timedelta = DEFAULT_LIFETIME,
        secret_of: Callable[[str, str], dict[str, Any]],
    ) -> None:
        self.ca = ca
        self.directory = directory
        self.spiffe_ids = dict(spiffe_ids)
        self.lifetime = lifetime
        self._secret_of = secret_of
        self._issued: dict[str, IssuedCertificate] = {}
        self._lock = threading.Lock()

    @property
    def trusted_ca(self) -> Path:
        return self.directory / "ca.pem"

    def files(self, workload: str) -> IdentityFiles:
        base = self.directory / workload
        return IdentityFiles(base / "sds" / "secret.json", base / "cert.pem", base / "key.pem")

    def issue_all(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        write_private(self.trusted_ca, self.ca.certificate_pem())
        for workload in self.spiffe_ids:
            self.issue(workload)

    def issue(self, workload: str) -> IssuedCertificate:
        """A fresh certificate for `workload`, written where its sidecar watches."""
        with self._lock:
            issued = self.ca.issue(self.spiffe_ids[workload], self.lifetime, workload)
            files = self.files(workload)
            files.sds.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_private(files.certificate, issued.certificate_pem)
            write_private(files.private_key, issued.private_key_pem)
            # Envoy reloads the secret when a file is moved into the watched directory;
            # write_private renames, so the sidecar never reads a half-written file.
            secret = self._secret_of(issued.certificate_pem, issued.private_key_pem)
            write_private(files.sds, json.dumps(secret, indent=1))
            self._issued[workload] = issued
            return issued

    def current(self, workload: str) -> IssuedCertificate | None:
        return self._issued.get(workload)

    def due(self, now: datetime.datetime | None = None) -> list[str]:
        """Workloads whose certificate has lived past the rotation point (or was never issued)."""
        moment = now or utc_now()
        threshold = self.lifetime * (1 - ROTATE_AT_FRACTION)
        return [
            workload
            for workload in self.spiffe_ids
            if (issued := self._issued.get(workload)) is None
            or issued.not_after - moment <= threshold
        ]

    def rotate_due(self, workloads: Iterable[str] | None = None) -> list[str]:
        rotated = [w for w in self.due() if workloads is None or w in set(workloads)]
        for workload in rotated:
            self.issue(workload)
            logger.info("mesh: rotated the certificate of %s", workload)
        return rotated


class CertificateRotator:
    """A daemon thread that rotates certificates before they expire."""

    def __init__(self, identities: WorkloadIdentities, check_every: float = 5.0) -> None:
        self._identities = identities
        self._check_every = check_every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mesh-cert-rotator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._check_every):
            try:
                self._identities.rotate_due()
            except Exception:  # keep rotating the others; the next round retries
                logger.exception("mesh: certificate rotation failed")
