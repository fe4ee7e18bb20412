"""Who is calling: client IP (behind trusted proxies only), bots, request ids, deadlines."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import Final

# The client IP is computed in one place; re-exported for the pipeline.
from gateway.client_ip import client_ip

__all__ = [
    "BotDetector",
    "DeadlinePolicy",
    "client_ip",
    "parse_grpc_timeout",
    "request_id",
]

_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_GRPC_TIMEOUT: Final = re.compile(r"^(\d{1,8})([HMSmun])$")
_GRPC_UNITS: Final = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def request_id(incoming: str | None) -> str:
    """The caller's X-Request-Id when it is a sane token, else a new one."""
    if incoming and _REQUEST_ID.match(incoming):
        return incoming
    return secrets.token_hex(16)  # 32 hex digits, as a uuid4's hex, without building one


class BotDetector:
    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns = tuple(re.compile(p) for p in patterns)

    def is_denied(self, user_agent: str | None) -> bool:
        return bool(user_agent) and any(p.search(user_agent or "") for p in self._patterns)


def parse_grpc_timeout(value: str) -> float | None:
    """`grpc-timeout` (`100m`, `5S`) or a number of seconds; None when malformed."""
    value = value.strip()
    found = _GRPC_TIMEOUT.match(value)
    if found:
        return int(found.group(1)) * _GRPC_UNITS[found.group(2)]
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds > 0 and seconds == seconds and seconds != float("inf") else None


class DeadlinePolicy:
    """A per-route default, shortened (never lengthened) by the client, under a cap."""

    def __init__(self, default: float, cap: float, per_method: dict[str, float]) -> None:
        self._default = default
        self._cap = cap
        self._per_method = per_method

    def timeout(self, method_full_name: str, client_values: Iterable[str | None]) -> float:
        timeout = min(self._per_method.get(method_full_name, self._default), self._cap)
        for raw in client_values:
            if raw:
                asked = parse_grpc_timeout(raw)
                if asked is not None:
                    timeout = min(timeout, asked)
        return timeout
