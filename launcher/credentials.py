"""Credentials generated on first start and kept in the state directory (mode 0600)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final

from mesh.roster import SERVICE_PORTS

CREDENTIALS_FILE: Final = "credentials.json"
DEFAULT_ADMIN_EMAIL: Final = "admin@shopmesh.example.com"
# Databases on the platform's PostgreSQL: one per owning service, plus FerretDB's.
SERVICE_DATABASES: Final = ("user", "order", "payment", "notification", "analytics")
FERRETDB_DATABASE: Final = "ferretdb"
# Kafka's own users beside one SCRAM user per service: the launcher's admin (topics, ACLs,
# inter-broker traffic) and the controller listener's login (SASL PLAIN, KRaft's choice).
KAFKA_ADMIN: Final = "admin"
KAFKA_CONTROLLER: Final = "controller"


def owned_databases() -> tuple[str, ...]:
    """Databases on the platform's PostgreSQL that have a login role of the same name."""
    return (*(f"shop_{s}" for s in SERVICE_DATABASES), FERRETDB_DATABASE)


def admin_password() -> str:
    """A random password that always meets the user service's policy (letters + a digit)."""
    return f"{secrets.token_urlsafe(24)}-{secrets.randbelow(10)}"


def _token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Credentials:
    postgres_password: str = field(default_factory=_token)
    redis_password: str = field(default_factory=_token)
    admin_email: str = DEFAULT_ADMIN_EMAIL
    admin_password: str = field(default_factory=lambda: admin_password())
    # Login role password per database (shop_user, ..., ferretdb).
    database_passwords: Mapping[str, str] = field(
        default_factory=lambda: {name: _token() for name in owned_databases()}
    )
    client_secrets: Mapping[str, str] = field(
        default_factory=lambda: {name: _token() for name in (*SERVICE_PORTS, "gateway")}
    )
    # Password per Kafka user (each service, KAFKA_ADMIN, KAFKA_CONTROLLER).
    kafka_passwords: Mapping[str, str] = field(
        default_factory=lambda: {
            name: _token() for name in (*SERVICE_PORTS, KAFKA_ADMIN, KAFKA_CONTROLLER)
        }
    )

    def client_secret_digests(self) -> str:
        """SERVICE_CLIENT_SECRETS for the user service: name=sha256hex,..."""
        return ",".join(
            f"{name}={hashlib.sha256(secret.encode()).hexdigest()}"
            for name, secret in sorted(self.client_secrets.items())
        )

    def with_admin(self, email: str, password: str) -> Credentials:
        return Credentials(**{**asdict(self), "admin_email": email, "admin_password": password})


class CredentialStore:
    """Loads the credentials of a state directory, creating them on first use."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / CREDENTIALS_FILE

    def exists(self) -> bool:
        return self.path.exists()

    def load_or_create(self) -> tuple[Credentials, bool]:
        """Return (credentials, created)."""
        if self.path.exists():
            raw = json.loads(self.path.read_text())
            info = self.path.stat()
            # Written by someone else, or readable by others: rewrite it as ours, 0600.
            foreign = info.st_uid != os.geteuid() or info.st_mode & 0o077
            defaults = asdict(Credentials())
            # Keep newly introduced secrets working with an older file.
            merged = {key: raw.get(key, value) for key, value in defaults.items()}
            for key in ("database_passwords", "client_secrets", "kafka_passwords"):
                merged[key] = {**defaults[key], **raw.get(key, {})}
            credentials = Credentials(**merged)
            if merged != raw or foreign:
                self.save(credentials)
            return credentials, False
        credentials = Credentials()
        self.save(credentials)
        return credentials, True

    def save(self, credentials: Credentials) -> None:
        """Written to a new file (ours, 0600) and renamed over the old one, so the result
        never keeps the owner or mode of a file someone else put there."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(credentials), out, indent=2, sort_keys=True)
        os.chmod(partial, 0o600)
        partial.replace(self.path)


def admin_from_env(credentials: Credentials, environ: Mapping[str, str]) -> Credentials:
    """SHOP_ADMIN_EMAIL/SHOP_ADMIN_PASSWORD, when both are set, replace the generated admin."""
    email = environ.get("SHOP_ADMIN_EMAIL", "").strip()
    password = environ.get("SHOP_ADMIN_PASSWORD", "")
    if email and password:
        return credentials.with_admin(email, password)
    return credentials
