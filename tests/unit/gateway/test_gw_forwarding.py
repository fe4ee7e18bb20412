"""The gateway's token goes next to x-forwarded-for to the user service, and nowhere else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import grpc
import httpx
import pytest

from gateway.app import GatewayApp
from gateway.bootstrap import build_app, discover_services
from gateway.edge.ratelimit import MemoryCounter
from gateway.forwarding import ForwardingProof
from gateway.settings import GatewaySettings
from mesh.auth.jwt import JwksCache, JwtVerifier
from mesh.auth.service_token import IssuedToken, ServiceTokenProvider

from .gwfakes import FakeUpstream, Signer, StaticKeys, rpc_error

CLIENT_IP = "203.0.113.7"
GATEWAY_TOKEN = "gateway-service-token"
USER_SERVICE = "shop.user.v1.UserService"


class FakeIssuer:
    """UserService.IssueServiceToken: a token, or the error it is told to raise."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls = 0

    async def issue(self) -> IssuedToken:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return IssuedToken(GATEWAY_TOKEN, 900.0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


Gateway = tuple[GatewayApp, FakeUpstream]


@pytest.fixture
async def make(signer: Signer) -> AsyncIterator[Callable[[FakeIssuer | None], Gateway]]:
    apps: list[GatewayApp] = []

    def build(issuer: FakeIssuer | None) -> Gateway:
        upstream = FakeUpstream()
        app = build_app(
            GatewaySettings(),
            discover_services(),
            upstream=upstream,
            verifier=JwtVerifier(
                JwksCache(StaticKeys(signer)), issuer="shopmesh", audience="shopmesh"
            ),
            counter=MemoryCounter(),
            service_tokens=None if issuer is None else ServiceTokenProvider(issuer),
        )
        apps.append(app)
        return app, upstream

    yield build
    for app in apps:
        await app.close()


def client(app: GatewayApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


LOGIN = {"email": "ann@example.com", "password": "correct horse 42"}


async def test_the_user_service_gets_the_gateways_token_beside_the_client_address(
    make: Callable[[FakeIssuer | None], Gateway], signer: Signer
) -> None:
    issuer = FakeIssuer()
    app, upstream = make(issuer)
    shopper = signer.token("u1")
    async with client(app) as http:
        assert (await http.post("/v1/auth/login", json=LOGIN)).status_code == 200
        assert (await http.post("/v1/users", json=LOGIN)).status_code == 201
        me = await http.get("/v1/users/u1", headers={"authorization": f"Bearer {shopper}"})
        assert me.status_code == 200
    login, register, get_user = (call.metadata for call in upstream.calls)
    assert login["x-forwarded-by"] == register["x-forwarded-by"] == GATEWAY_TOKEN
    assert login["x-forwarded-for"] == register["x-forwarded-for"] == CLIENT_IP
    assert "authorization" not in login
    # The end user's token stays the authorization; the gateway's travels beside it.
    assert get_user["authorization"] == f"Bearer {shopper}"
    assert get_user["x-forwarded-by"] == GATEWAY_TOKEN
    assert issuer.calls == 1  # cached by the provider


async def test_no_other_service_sees_the_gateways_token(
    make: Callable[[FakeIssuer | None], Gateway], signer: Signer
) -> None:
    app, upstream = make(FakeIssuer())
    shopper = {"authorization": f"Bearer {signer.token('u1')}"}
    async with client(app) as http:
        assert (await http.get("/v1/products")).status_code == 200
        assert (await http.get("/v1/carts/u1", headers=shopper)).status_code == 200
        assert (await http.get("/v1/search?query=lamp")).status_code == 200
    assert [c.route.service_name for c in upstream.calls] == [
        "shop.catalog.v1.CatalogService",
        "shop.cart.v1.CartService",
        "shop.search.v1.SearchService",
    ]
    for call in upstream.calls:
        assert "x-forwarded-by" not in call.metadata
        assert GATEWAY_TOKEN not in call.metadata.values()
        assert call.metadata["x-forwarded-for"] == CLIENT_IP


async def test_without_a_token_the_call_goes_on_without_the_proof(
    make: Callable[[FakeIssuer | None], Gateway], caplog: pytest.LogCaptureFixture
) -> None:
    issuer = FakeIssuer(rpc_error(grpc.StatusCode.UNAUTHENTICATED, "unknown client"))
    app, upstream = make(issuer)
    with caplog.at_level(logging.WARNING, logger="gateway.forwarding"):
        async with client(app) as http:
            first = await http.post("/v1/auth/login", json=LOGIN)
            second = await http.post("/v1/auth/login", json=LOGIN)
    assert (first.status_code, second.status_code) == (200, 200)
    assert [c.metadata.get("x-forwarded-by") for c in upstream.calls] == [None, None]
    assert upstream.calls[0].metadata["x-forwarded-for"] == CLIENT_IP
    # One failed fetch pauses the next ones: not an extra round trip per request.
    assert issuer.calls == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "gateway.forwarding"]
    assert len(warnings) == 1 and "UNAUTHENTICATED: unknown client" in warnings[0]


async def test_without_credentials_the_gateway_says_so_at_start(
    make: Callable[[FakeIssuer | None], Gateway], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.bootstrap"):
        app, upstream = make(None)
    assert any("SERVICE_CLIENT_SECRET" in r.getMessage() for r in caplog.records)
    async with client(app) as http:
        assert (await http.post("/v1/auth/login", json=LOGIN)).status_code == 200
    assert "x-forwarded-by" not in upstream.calls[0].metadata


async def test_a_failed_fetch_is_retried_after_the_pause() -> None:
    issuer, clock = FakeIssuer(RuntimeError("user service away")), Clock()
    proof = ForwardingProof(
        ServiceTokenProvider(issuer), [USER_SERVICE], retry_after_seconds=30, clock=clock
    )
    assert await proof.metadata(USER_SERVICE) == []
    clock.now += 29
    assert await proof.metadata(USER_SERVICE) == []
    assert issuer.calls == 1
    issuer.error = None
    clock.now += 2
    assert await proof.metadata(USER_SERVICE) == [("x-forwarded-by", GATEWAY_TOKEN)]
    assert await proof.metadata("shop.order.v1.OrderService") == []
    assert issuer.calls == 2
