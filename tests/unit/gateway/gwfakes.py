"""Fakes for gateway tests: signing keys and tokens, and a recording upstream."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from google.protobuf.message import Message
from grpc import aio
from jwt.algorithms import RSAAlgorithm

from gateway.transcoding.routes import Route

ISSUER = "shopmesh"
AUDIENCE = "shopmesh"


class Signer:
    """An RSA key pair published as a JWKS, and tokens signed with it."""

    def __init__(self, kid: str = "test-key") -> None:
        self.kid = kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        return jwk

    def token(
        self,
        subject: str = "u1",
        roles: Sequence[str] = ("customer",),
        *,
        ttl: float = 300,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        kid: str | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "sub": subject,
            "roles": list(roles),
            "iss": issuer,
            "aud": audience,
            "iat": now,
            "exp": now + int(ttl),
        }
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


class StaticKeys:
    def __init__(self, *signers: Signer) -> None:
        self._signers = signers

    async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
        return [s.jwk() for s in self._signers]


def unsigned_token(subject: str = "admin-1", roles: Sequence[str] = ("admin",)) -> str:
    """An `alg: none` token (no signature at all)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    header = {"alg": "none", "typ": "JWT", "kid": "test-key"}
    claims = {
        "sub": subject,
        "roles": list(roles),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
    }
    return f"{part(header)}.{part(claims)}."


@dataclass
class Call:
    route: Route
    request: Message
    timeout: float
    metadata: dict[str, str]


Responder = Callable[[Route, Message], Message]


@dataclass
class FakeUpstream:
    """Answers with `responder` (default: an empty response) and records every call."""

    responder: Responder | None = None
    calls: list[Call] = field(default_factory=list)
    health: dict[str, bool] = field(default_factory=dict)
    closed: bool = False

    async def call(
        self, route: Route, request: Message, *, timeout: float, metadata: Sequence[tuple[str, str]]
    ) -> bytes:
        """The responder's message (default: an empty response), serialized as on the wire."""
        self.calls.append(Call(route, request, timeout, dict(metadata)))
        if self.responder is not None:
            return self.responder(route, request).SerializeToString()
        return b""

    async def ready(
        self, service_full_names: Iterable[str], timeout: float = 2.0
    ) -> dict[str, bool]:
        return {name: self.health.get(name, True) for name in service_full_names}

    async def close(self) -> None:
        self.closed = True


def rpc_error(
    code: grpc.StatusCode, details: str, trailers: Sequence[tuple[str, str | bytes]] = ()
) -> aio.AioRpcError:
    return aio.AioRpcError(code, aio.Metadata(), aio.Metadata(*trailers), details)
