"""The whole runtime on real grpc.aio servers bound to free ports.

A fake cart service runs through `mesh.bootstrap.serve` (interceptors, health, reflection,
metrics, shutdown); it calls a fake catalog service built with `create_server` to show the
deadline, token and request id travelling downstream.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.rpc import error_details_pb2
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from jwt.algorithms import RSAAlgorithm
from shop.cart.v1 import cart_pb2, cart_pb2_grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from mesh.auth import JwksCache, JwtVerifier, current_identity, optional_identity
from mesh.bootstrap import Runtime, Serving, serve
from mesh.errors import NotFoundError
from mesh.metrics import ServerMetrics
from mesh.server import ServiceSpec, create_server
from mesh.settings import RuntimeSettings

pytestmark = pytest.mark.integration

CART = "shop.cart.v1.CartService"
CATALOG = "shop.catalog.v1.CatalogService"


class LocalKeys:
    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._jwk = {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}

    async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
        return [self._jwk]


@dataclass
class Seen:
    """What the downstream catalog observed."""

    time_remaining: list[float | None] = field(default_factory=list)
    subjects: list[str | None] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)


class FakeCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, seen: Seen) -> None:
        self._seen = seen

    async def GetProduct(  # noqa: N802 (generated name)
        self, request: catalog_pb2.GetProductRequest, context: aio.ServicerContext[Any, Any]
    ) -> catalog_pb2.Product:
        identity = optional_identity()
        self._seen.time_remaining.append(context.time_remaining())
        self._seen.subjects.append(identity.subject if identity else None)
        self._seen.request_ids += [
            str(v) for k, v in context.invocation_metadata() or () if k == "x-request-id"
        ]
        return catalog_pb2.Product(id=request.id, name="Lamp")


class FakeCart(cart_pb2_grpc.CartServiceServicer):
    def __init__(self, catalog: catalog_pb2_grpc.CatalogServiceAsyncStub) -> None:
        self._catalog = catalog

    async def GetCart(  # noqa: N802
        self, request: cart_pb2.GetCartRequest, context: aio.ServicerContext[Any, Any]
    ) -> cart_pb2.Cart:
        return cart_pb2.Cart(user_id=current_identity().subject)

    async def AddItem(  # noqa: N802
        self, request: cart_pb2.AddItemRequest, context: aio.ServicerContext[Any, Any]
    ) -> cart_pb2.Cart:
        if request.product_id == "missing":
            raise NotFoundError("no such product", reason="PRODUCT_NOT_FOUND")
        if request.product_id == "boom":
            raise RuntimeError("password=hunter2 leaked into an exception")
        if request.product_id == "slow":
            await asyncio.sleep(0.6)
        product = await self._catalog.GetProduct(catalog_pb2.GetProductRequest(id="p1"))
        return cart_pb2.Cart(user_id=request.user_id, item_count=len(product.name))


@dataclass
class Platform:
    cart_port: int
    metrics_port: int
    seen: Seen
    key: rsa.RSAPrivateKey
    stop: asyncio.Event
    serving: asyncio.Task[None]

    def token(self, subject: str = "u1", roles: Sequence[str] = ("customer",)) -> str:
        now = int(time.time())
        claims = {
            "sub": subject,
            "roles": list(roles),
            "iss": "shopmesh",
            "aud": "shopmesh",
            "iat": now,
            "exp": now + 300,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})

    def auth(self, subject: str = "u1") -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(subject)}"),)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
async def platform(signing_key: rsa.RSAPrivateKey) -> AsyncIterator[Platform]:
    seen = Seen()
    keys = LocalKeys(signing_key)
    verifier = JwtVerifier(JwksCache(keys), issuer="shopmesh", audience="shopmesh")
    catalog_servicer = FakeCatalog(seen)  # type: ignore[abstract]
    catalog_spec = ServiceSpec(
        name="catalog",
        services=[CATALOG],
        register=[
            lambda s: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(catalog_servicer, s)
        ],
    )
    catalog, catalog_port = create_server(
        catalog_spec, verifier=verifier, metrics=ServerMetrics(), host="127.0.0.1"
    )
    await catalog.start()

    environ = {
        "GRPC_PORT": "0",
        "GRPC_GRACE_SECONDS": "5",
        "CATALOG_SERVICE_ADDR": f"127.0.0.1:{catalog_port}",
    }

    async def build(runtime: Runtime) -> ServiceSpec:
        channel = runtime.channels.channel("catalog")
        cart = FakeCart(catalog_pb2_grpc.CatalogServiceStub(channel))  # type: ignore[abstract]
        return ServiceSpec(
            name="cart",
            services=[CART],
            register=[lambda s: cart_pb2_grpc.add_CartServiceServicer_to_server(cart, s)],
            key_source=keys,
        )

    stop = asyncio.Event()
    started: asyncio.Future[Serving] = asyncio.get_running_loop().create_future()
    settings = RuntimeSettings.from_env("cart", environ)
    task = asyncio.create_task(
        serve(settings, build, environ, stop=stop, on_serving=started.set_result)
    )
    serving = await asyncio.wait_for(started, 10)
    yield Platform(serving.grpc_port, serving.metrics_port, seen, signing_key, stop, task)
    stop.set()
    await asyncio.wait_for(task, 10)
    await catalog.stop(None)


@pytest.fixture
async def cart(platform: Platform) -> AsyncIterator[cart_pb2_grpc.CartServiceAsyncStub]:
    async with aio.insecure_channel(f"127.0.0.1:{platform.cart_port}") as channel:
        yield cart_pb2_grpc.CartServiceStub(channel)


async def test_health_serves_overall_and_per_service(platform: Platform) -> None:
    async with aio.insecure_channel(f"127.0.0.1:{platform.cart_port}") as channel:
        health: Any = health_pb2_grpc.HealthStub(channel)
        for service in ("", CART):
            response = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_service(platform: Platform) -> None:
    async with aio.insecure_channel(f"127.0.0.1:{platform.cart_port}") as channel:
        stub: Any = reflection_pb2_grpc.ServerReflectionStub(channel)  # type: ignore[arg-type]
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for response in stub.ServerReflectionInfo(iter([request])):
            names = {s.name for s in response.list_services_response.service}
            break
    assert {CART, "grpc.health.v1.Health"} <= names


async def test_calls_without_a_token_are_unauthenticated(
    cart: cart_pb2_grpc.CartServiceAsyncStub,
) -> None:
    with pytest.raises(aio.AioRpcError) as caught:
        await cart.GetCart(cart_pb2.GetCartRequest(user_id="u1"))
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_owner_rule_is_enforced(
    platform: Platform, cart: cart_pb2_grpc.CartServiceAsyncStub
) -> None:
    mine = await cart.GetCart(cart_pb2.GetCartRequest(user_id="u1"), metadata=platform.auth())
    assert mine.user_id == "u1"
    with pytest.raises(aio.AioRpcError) as caught:
        await cart.GetCart(cart_pb2.GetCartRequest(user_id="u2"), metadata=platform.auth())
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def rich_status(call: Any) -> tuple[grpc.StatusCode, Any]:
    try:
        await call
    except aio.AioRpcError:
        pass
    code = await call.code()
    status = await rpc_status.aio.from_call(call)
    return code, status


async def test_invalid_requests_get_field_violations(
    platform: Platform, cart: cart_pb2_grpc.CartServiceAsyncStub
) -> None:
    call = cart.AddItem(
        cart_pb2.AddItemRequest(user_id="u1", product_id="p1", quantity=0),
        metadata=platform.auth(),
    )
    code, status = await rich_status(call)
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    bad_request = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad_request) for d in status.details)
    assert [v.field for v in bad_request.field_violations] == ["quantity"]


async def test_domain_errors_and_crashes_map_to_status(
    platform: Platform, cart: cart_pb2_grpc.CartServiceAsyncStub
) -> None:
    missing = cart.AddItem(
        cart_pb2.AddItemRequest(user_id="u1", product_id="missing", quantity=1),
        metadata=platform.auth(),
    )
    code, status = await rich_status(missing)
    assert code is grpc.StatusCode.NOT_FOUND
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in status.details)
    assert (info.reason, info.domain) == ("PRODUCT_NOT_FOUND", "shopmesh")

    with pytest.raises(aio.AioRpcError) as caught:
        await cart.AddItem(
            cart_pb2.AddItemRequest(user_id="u1", product_id="boom", quantity=1),
            metadata=platform.auth(),
        )
    assert caught.value.code() is grpc.StatusCode.INTERNAL
    assert caught.value.details() == "internal error"


async def test_deadline_token_and_request_id_travel_downstream(
    platform: Platform, cart: cart_pb2_grpc.CartServiceAsyncStub
) -> None:
    before = len(platform.seen.subjects)
    response = await cart.AddItem(
        cart_pb2.AddItemRequest(user_id="u1", product_id="p1", quantity=1),
        metadata=(*platform.auth(), ("x-request-id", "req-42")),
        timeout=1.5,
    )
    assert response.item_count == len("Lamp")
    assert platform.seen.subjects[before:] == ["u1"]
    assert platform.seen.request_ids[-1] == "req-42"
    # Without propagation the catalog would see the 5 s default; grpc rounds the wire
    # timeout up a little, hence the tolerance.
    remaining = platform.seen.time_remaining[-1]
    assert remaining is not None and 0 < remaining < 1.55


async def test_metrics_count_calls_by_method_and_code(
    platform: Platform, cart: cart_pb2_grpc.CartServiceAsyncStub
) -> None:
    await cart.GetCart(cart_pb2.GetCartRequest(user_id="u1"), metadata=platform.auth())
    url = f"http://127.0.0.1:{platform.metrics_port}/metrics"
    body = (await asyncio.to_thread(lambda: urllib.request.urlopen(url).read())).decode()
    assert (
        f'grpc_server_handled_total{{grpc_code="OK",grpc_method="GetCart",grpc_service="{CART}"}}'
    ) in body
    assert "grpc_server_handling_seconds_bucket" in body
    assert "grpc_server_in_flight" in body
    assert "process_resident_memory_bytes" in body


async def test_graceful_shutdown_finishes_in_flight_calls(
    platform: Platform, cart: cart_pb2_grpc.CartServiceAsyncStub
) -> None:
    """Runs last in this module: it stops the shared server."""
    slow = asyncio.ensure_future(
        cart.AddItem(
            cart_pb2.AddItemRequest(user_id="u1", product_id="slow", quantity=1),
            metadata=platform.auth(),
        )
    )
    await asyncio.sleep(0.2)
    platform.stop.set()
    response = await slow
    assert response.user_id == "u1"
    await asyncio.wait_for(platform.serving, 10)
    with pytest.raises(aio.AioRpcError) as caught:
        await cart.GetCart(
            cart_pb2.GetCartRequest(user_id="u1"), metadata=platform.auth(), timeout=1
        )
    assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
