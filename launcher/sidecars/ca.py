"""The local mesh CA: created on first start in the state directory, it signs short-lived
workload certificates whose URI SAN is the SPIFFE id Istio would give the workload."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mesh.clock import utc_now

CA_LIFETIME: Final = datetime.timedelta(days=365)
# Clocks of the processes on one machine agree; the margin only absorbs rounding.
BACKDATE: Final = datetime.timedelta(minutes=1)
PRIVATE: Final = 0o600


@dataclass(frozen=True)
class IssuedCertificate:
    certificate_pem: str
    private_key_pem: str
    serial: int
    not_after: datetime.datetime


class LocalCA:
    """A self-signed EC P-256 root whose key never leaves `directory` (mode 0600)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate) -> None:
        self._key = key
        self.certificate = certificate

    @classmethod
    def load_or_create(cls, directory: Path, name: str = "shopmesh local mesh CA") -> LocalCA:
        key_path, cert_path = directory / "ca-key.pem", directory / "ca.pem"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path}: not an EC private key")
            return cls(key, x509.load_pem_x509_certificate(cert_path.read_bytes()))
        ca = cls.create(name)
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        write_private(key_path, ca.private_key_pem())
        write_private(cert_path, ca.certificate_pem())
        return ca

    @classmethod
    def create(cls, name: str) -> LocalCA:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = utc_now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def private_key_pem(self) -> str:
        return _key_pem(self._key)

    def issue(
        self, spiffe_id: str, lifetime: datetime.timedelta, dns_name: str
    ) -> IssuedCertificate:
        """A client-and-server certificate for one workload identity.

        The identity is the URI SAN (what the sidecars check, as in Istio); the DNS SAN (the
        workload's name) only lets tools such as grpcurl verify a sidecar by name.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        now = utc_now()
        not_after = now + lifetime
        serial = x509.random_serial_number()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - BACKDATE)
            .not_valid_after(not_after)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(spiffe_id), x509.DNSName(dns_name)]
                ),
                critical=True,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False
            )
            .sign(self._key, hashes.SHA256())
        )
        return IssuedCertificate(
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            private_key_pem=_key_pem(key),
            serial=serial,
            not_after=not_after,
        )


def write_private(path: Path, content: str) -> None:
    """Write a file only the owner can read, replacing any previous one atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(temporary, PRIVATE)
    os.replace(temporary, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
