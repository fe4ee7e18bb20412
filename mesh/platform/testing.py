"""Real servers for the test suite: one private set per test session, started on first use."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from mesh.platform.config import STORE_URL_VARIABLES, PlatformConfig, PortPlan, repo_root
from mesh.platform.credentials import CredentialStore
from mesh.platform.infra import Infrastructure
from mesh.platform.mailbox import Mailbox


@dataclass(frozen=True)
class SmtpCapture:
    """Where to send mail in a test, and the mail that arrived."""

    host: str
    port: int
    mailbox: Mailbox

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages()


class DatabaseFactory:
    """`factory()` or `factory("name")` creates a fresh PostgreSQL database and returns its DSN."""

    def __init__(self, infra: Infrastructure) -> None:
        self._infra = infra
        self._counter = itertools.count(1)

    def __call__(self, name: str | None = None) -> str:
        database = name or f"test_{next(self._counter)}_{secrets.token_hex(3)}"
        return self._infra.create_database(database)


def isolated_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment without store URLs: tests never use a developer's servers by accident."""
    return {k: v for k, v in environ.items() if k not in STORE_URL_VARIABLES.values()}


def session_infrastructure(state_dir: Path | None = None) -> Infrastructure:
    """Stores on free ports with a temporary state directory; the download cache is shared."""
    state = state_dir or Path(tempfile.mkdtemp(prefix="shopmesh-test-"))
    config = PlatformConfig.from_env(
        isolated_environ(os.environ), repo_root(), ports=PortPlan.free(), state_dir=state
    )
    credentials, _ = CredentialStore(state).load_or_create()
    return Infrastructure(config, credentials)


def smtp_capture(infra: Infrastructure) -> SmtpCapture:
    infra.ensure(["smtp"])
    return SmtpCapture(
        host="127.0.0.1",
        port=infra.config.ports.smtp,
        mailbox=Mailbox(infra.config.state_dir / "mail"),
    )


def discard(infra: Infrastructure) -> None:
    """Stop everything a session started and delete its state directory."""
    try:
        infra.stop()
    finally:
        shutil.rmtree(infra.config.state_dir, ignore_errors=True)
