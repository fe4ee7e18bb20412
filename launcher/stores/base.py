"""What every backing server offers to the platform, and the context it is started in."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from launcher.config import PlatformConfig
from launcher.credentials import Credentials
from launcher.process import ManagedProcess, port_open

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StoreContext:
    config: PlatformConfig
    credentials: Credentials
    # Account that servers refusing root run under (None: the current user).
    server_user: str | None
    progress: Progress

    def data_dir(self, store: str) -> Path:
        return self.config.state_dir / store

    def process(self, name: str, argv: list[str], **kwargs: object) -> ManagedProcess:
        return ManagedProcess(
            name,
            argv,
            log_path=self.config.log_dir / f"{name}.log",
            pid_path=self.config.run_dir / f"{name}.pid",
            **kwargs,  # type: ignore[arg-type]
        )


class Store(Protocol):
    name: str

    def url(self) -> str: ...

    def start(self) -> None:
        """Provision when needed, start, and return once the server answers."""

    def stop(self) -> None: ...

    def healthy(self) -> bool: ...

    def purge(self) -> None:
        """Delete the server's data (it must be stopped)."""


class ExternalStore:
    """A server someone else runs: nothing to start, only to check."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self._url = url

    def url(self) -> str:
        return self._url

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def healthy(self) -> bool:
        return all(port_open(host, port) for host, port in endpoints_of(self._url))

    def purge(self) -> None:
        return None


def endpoints_of(url: str) -> list[tuple[str, int]]:
    """host:port pairs of a URL or of a comma-separated bootstrap list."""
    pairs = []
    for item in url.split(","):
        parts = urlsplit(item if "://" in item else f"tcp://{item}")
        pairs.append((parts.hostname or "127.0.0.1", parts.port or 0))
    return pairs


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
