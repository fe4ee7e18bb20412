"""Per-request values kept in contextvars (each gRPC call runs in its own task)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = [
    "RequestContext",
    "current_request",
    "remaining_seconds",
    "request_scope",
]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What an outgoing call needs to know about the call being served."""

    request_id: str
    method: str
    # Absolute deadline on the monotonic clock, None when the caller set none.
    deadline: float | None = None


_current: ContextVar[RequestContext | None] = ContextVar("mesh_request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


@contextmanager
def request_scope(request: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(request)
    try:
        yield request
    finally:
        _current.reset(token)


def remaining_seconds() -> float | None:
    """Time left before the incoming call's deadline, None without a deadline."""
    request = _current.get()
    if request is None or request.deadline is None:
        return None
    return request.deadline - time.monotonic()
