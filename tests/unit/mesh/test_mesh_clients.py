"""Outgoing calls: deadline propagation, token forwarding, request ids, service config."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from grpc import aio

from mesh import rbac
from mesh.auth import Identity, IssuedToken, ServiceTokenProvider, identity_scope
from mesh.clients import CallAs
from mesh.clients.interceptors import OutgoingCallInterceptor
from mesh.clients.service_config import (
    channel_options,
    full_service_name,
    read_methods,
    service_config_json,
)
from mesh.context import RequestContext, request_scope
from mesh.errors import DeadlineExceededError

CUSTOMER = Identity.from_claims("u1", frozenset({rbac.CUSTOMER}), token="user-token")


class CountingIssuer:
    def __init__(self, expires_in: float = 900) -> None:
        self.issued = 0
        self.expires_in = expires_in

    async def issue(self) -> IssuedToken:
        self.issued += 1
        return IssuedToken(f"service-token-{self.issued}", self.expires_in)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def outgoing(
    *,
    timeout: float | None = None,
    call_as: CallAs = CallAs.CALLER,
    tokens: ServiceTokenProvider | None = None,
    metadata: aio.Metadata | None = None,
) -> aio.ClientCallDetails:
    interceptor = OutgoingCallInterceptor(
        default_timeout_seconds=5.0, call_as=call_as, service_tokens=tokens
    )
    seen: list[aio.ClientCallDetails] = []

    async def continuation(details: aio.ClientCallDetails, request: Any) -> str:
        seen.append(details)
        return "called"

    details = aio.ClientCallDetails(
        "/shop.catalog.v1.CatalogService/GetProduct", timeout, metadata, None, None
    )
    assert await interceptor.intercept_unary_unary(continuation, details, object()) == "called"
    return seen[0]


def incoming(seconds_left: float | None) -> RequestContext:
    deadline = None if seconds_left is None else time.monotonic() + seconds_left
    return RequestContext(request_id="req-1", method="/x.v1.S/M", deadline=deadline)


async def test_default_deadline_without_incoming_call() -> None:
    assert (await outgoing()).timeout == 5.0
    assert (await outgoing(timeout=1.5)).timeout == 1.5


async def test_incoming_deadline_shortens_the_outgoing_one() -> None:
    with request_scope(incoming(0.8)):
        timeout = (await outgoing()).timeout
    assert timeout is not None and 0.7 < timeout <= 0.8


async def test_shorter_explicit_timeout_wins() -> None:
    with request_scope(incoming(3.0)):
        assert (await outgoing(timeout=0.5)).timeout == 0.5
    with request_scope(incoming(None)):
        assert (await outgoing(timeout=0.5)).timeout == 0.5


async def test_expired_incoming_deadline_fails_fast() -> None:
    with request_scope(incoming(-0.1)), pytest.raises(DeadlineExceededError):
        await outgoing()


async def test_request_id_and_caller_token_are_forwarded() -> None:
    with request_scope(incoming(None)), identity_scope(CUSTOMER):
        details = await outgoing(tokens=ServiceTokenProvider(CountingIssuer()))
    assert details.metadata is not None
    assert details.metadata["x-request-id"] == "req-1"
    assert details.metadata["authorization"] == "Bearer user-token"


async def test_explicit_authorization_is_kept() -> None:
    with identity_scope(CUSTOMER):
        details = await outgoing(metadata=aio.Metadata(("authorization", "Bearer mine")))
    assert details.metadata is not None and details.metadata["authorization"] == "Bearer mine"


async def test_service_token_without_a_caller_or_when_asked() -> None:
    issuer = CountingIssuer()
    tokens = ServiceTokenProvider(issuer)
    background = await outgoing(tokens=tokens)
    assert background.metadata is not None
    assert background.metadata["authorization"] == "Bearer service-token-1"
    with identity_scope(CUSTOMER):
        as_service = await outgoing(tokens=tokens, call_as=CallAs.SERVICE)
        anonymous = await outgoing(tokens=tokens, call_as=CallAs.ANONYMOUS)
    assert as_service.metadata is not None
    assert as_service.metadata["authorization"] == "Bearer service-token-1"
    assert anonymous.metadata is None or anonymous.metadata.get("authorization") is None
    assert issuer.issued == 1


async def test_no_token_without_caller_or_credentials() -> None:
    details = await outgoing()
    assert details.metadata is None or details.metadata.get("authorization") is None


async def test_service_token_is_refreshed_before_expiry() -> None:
    issuer = CountingIssuer(expires_in=300)
    clock = FakeClock()
    tokens = ServiceTokenProvider(issuer, refresh_margin_seconds=60, clock=clock)
    assert await tokens.token() == "service-token-1"
    clock.now = 239
    assert await tokens.token() == "service-token-1"
    clock.now = 241
    assert await tokens.token() == "service-token-2"


def test_service_config_retries_reads_only() -> None:
    name = full_service_name("catalog")
    assert name == "shop.catalog.v1.CatalogService"
    reads = read_methods(name)
    assert {"GetProduct", "ListProducts", "BatchGetProducts", "ListCategories"} <= set(reads)
    assert not {"CreateProduct", "ReserveStock", "DeleteProduct"} & set(reads)
    config = json.loads(service_config_json(name, reads, timeout_seconds=5))
    default, retried = config["methodConfig"]
    assert default == {"name": [{}], "timeout": "5.000s"}
    assert {entry["method"] for entry in retried["name"]} == set(reads)
    assert retried["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert read_methods("shop.nothing.v1.NothingService") == []


def test_channel_options_carry_the_service_config_and_keepalive() -> None:
    name = full_service_name("cart")
    options = dict(channel_options(name, timeout_seconds=2, keepalive_seconds=30))
    assert options["grpc.service_config"] == service_config_json(
        name, read_methods(name), timeout_seconds=2
    )
    assert options["grpc.enable_retries"] == 1
    assert options["grpc.keepalive_time_ms"] == 30_000
    assert options["grpc.keepalive_permit_without_calls"] == 1
