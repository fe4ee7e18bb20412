"""Real servers for the test suite: one private set per test session, started on first use."""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from launcher.components import discover
from launcher.config import STORE_URL_VARIABLES, PlatformConfig, PortPlan, repo_root
from launcher.credentials import CredentialStore
from launcher.infra import Infrastructure
from launcher.mailbox import Mailbox
from launcher.platform import LocalPlatform
from launcher.process import pid_alive, read_pid, stop_group
from launcher.sidecars.meshmode import Mesh
from launcher.sidecars.ports import quiet_ports

STATE_PREFIX = "shopmesh-test-"


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
    reap_stale_sessions()
    state = state_dir or Path(tempfile.mkdtemp(prefix=STATE_PREFIX))
    (state / OWNER_FILE).write_text(f"{os.getpid()}\n")
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
        shutil.rmtree(infra.config.stores_dir, ignore_errors=True)


@dataclass(frozen=True)
class RunningPlatform:
    """A whole platform started for end-to-end tests; everything on its own free ports."""

    base_url: str
    gateway_metrics_url: str
    grpc_addresses: Mapping[str, str]
    admin_email: str
    admin_password: str
    mailbox: Mailbox
    state_dir: Path
    platform: LocalPlatform
    # Mesh mode: the sidecars, identities and their addresses (None on the plain platform).
    mesh: Mesh | None = None

    @property
    def gateway_url(self) -> str:
        return self.base_url

    def service_environment(self, name: str) -> dict[str, str]:
        """The environment a component runs with (store URLs, addresses, credentials)."""
        return self.platform.environments()[name]


def start_platform(
    infra: Infrastructure,
    *,
    load_demo: bool = False,
    mesh: bool = False,
    replicas: Mapping[str, int] | None = None,
) -> RunningPlatform:
    """Start every existing service and the gateway against `infra`'s stores and ports.

    With `mesh`, every workload runs behind an Envoy sidecar (on more free ports), and
    `replicas` runs more than one instance of some services, each behind its own sidecar.
    Raises StartError naming the component when anything fails to become healthy.
    """
    sidecars = None
    if mesh:
        services = [c.name for c in discover(infra.config.repo_root) if not c.is_gateway]
        taken = {int(port) for port in infra.config.ports.to_env().values()}
        sidecars = Mesh.plan(
            infra.config, services, free_ports=quiet_ports(taken), replicas=replicas
        )
    platform = LocalPlatform(
        infra.config,
        infra.credentials,
        infra=infra,
        base_env=isolated_environ(os.environ),
        mesh=sidecars,
    )
    try:
        platform.start(load_demo=load_demo, strict=True)
    except BaseException:
        platform.stop()
        raise
    return RunningPlatform(
        base_url=platform.base_url,
        gateway_metrics_url=f"http://127.0.0.1:{infra.config.ports.gateway_metrics}/metrics",
        state_dir=infra.config.state_dir,
        grpc_addresses={
            c.name: platform.grpc_address(c.name) for c in platform.components if not c.is_gateway
        },
        admin_email=infra.credentials.admin_email,
        admin_password=infra.credentials.admin_password,
        mailbox=platform.mailbox,
        platform=platform,
        mesh=sidecars,
    )


OWNER_FILE = "owner.pid"


def reap_stale_sessions(root: Path | None = None) -> None:
    """Stop servers of earlier test sessions that died without cleaning up, and their files."""
    for state in (root or Path(tempfile.gettempdir())).glob(f"{STATE_PREFIX}*"):
        owner = read_pid(state / OWNER_FILE)
        if owner is None or pid_alive(owner):
            continue
        for pid_file in (state / "run").glob("*.pid"):
            pid = read_pid(pid_file)
            if pid is not None and pid_alive(pid):
                stop_group(pid, signal.SIGKILL, 5)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(state.with_name(state.name + "-stores"), ignore_errors=True)
