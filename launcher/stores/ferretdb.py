"""FerretDB v1 (MongoDB wire protocol) built from our small Go main, data kept in PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from launcher.process import port_open
from launcher.stores.base import StoreContext
from launcher.toolchain import build_go

HOST: Final = "127.0.0.1"
SOURCE: Final = Path(__file__).resolve().parent.parent / "ferretdb"


class FerretDbStore:
    name = "ferretdb"

    def __init__(self, context: StoreContext, postgresql_url: str) -> None:
        self._context = context
        self._port = context.config.ports.ferretdb
        self._postgresql_url = postgresql_url
        self._process = context.process("ferretdb", [], ports=[self._port])

    def url(self) -> str:
        return f"mongodb://{HOST}:{self._port}/"

    def start(self) -> None:
        binary = build_go(
            SOURCE, self._context.config.cache_dir / "ferretdb", "ferretdb", self._context.progress
        )
        self._process.argv = [
            str(binary),
            "--listen-addr",
            f"{HOST}:{self._port}",
            "--handler",
            "postgresql",
            "--postgresql-url",
            self._postgresql_url,
        ]
        self._process.start()
        self._process.wait_until(self.healthy, 60, "accept connections")

    def stop(self) -> None:
        self._process.stop()

    def healthy(self) -> bool:
        return port_open(HOST, self._port)

    def purge(self) -> None:
        """The data lives in PostgreSQL's `ferretdb` database: purging PostgreSQL removes it."""
