"""Fakes for the runtime's unit tests (no sockets)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from grpc import aio


class FakeContext:
    """The part of grpc.aio.ServicerContext the interceptors use."""

    def __init__(
        self, metadata: Sequence[tuple[str, str]] = (), time_remaining: float | None = None
    ) -> None:
        self._metadata = tuple(metadata)
        self._deadline = None if time_remaining is None else time.monotonic() + time_remaining
        self.aborted: tuple[grpc.StatusCode, str, Any] | None = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    def code(self) -> grpc.StatusCode | None:
        return None if self.aborted is None else self.aborted[0]

    async def abort(self, code: grpc.StatusCode, details: str, trailing_metadata: Any = ()) -> None:
        self.aborted = (code, details, trailing_metadata)
        raise aio.AbortError(details)


@pytest.fixture
def fake_context() -> type[FakeContext]:
    return FakeContext


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """Two signing keys: the trusted one and a stranger's."""
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
