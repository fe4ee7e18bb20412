"""The ASGI app end to end with a fake upstream: edge policies, status codes, headers."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from types import ModuleType
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import GatewayApp
from gateway.bootstrap import build_app
from gateway.edge.ratelimit import Limit, MemoryCounter, WindowCounter
from gateway.http import HttpRequest
from gateway.observability import AccessLog
from gateway.pipeline import RequestLog
from gateway.settings import GatewaySettings
from gateway.transcoding.routes import Route
from mesh.auth.jwt import JwksCache, JwtVerifier

from .gwfakes import (
    FakeUpstream,
    Signer,
    StaticKeys,
    rpc_error,
    unsigned_token,
)

CLIENT_IP = "203.0.113.7"


class Harness:
    def __init__(
        self, app: GatewayApp, upstream: FakeUpstream, spans: InMemorySpanExporter
    ) -> None:
        self.app = app
        self.upstream = upstream
        self.spans = spans

    def client(self, ip: str = CLIENT_IP) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


@pytest.fixture
def make(conformance_pb2: ModuleType, signer: Signer) -> Callable[..., Harness]:
    def build(
        responder: Callable[[Route, Message], Message] | None = None,
        counter: WindowCounter | None = None,
        access_log: AccessLog | None = None,
        **overrides: Any,
    ) -> Harness:
        settings = replace(GatewaySettings(), **overrides)
        upstream = FakeUpstream(responder)
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        app = build_app(
            settings,
            list(conformance_pb2.DESCRIPTOR.services_by_name.values()),
            upstream=upstream,
            verifier=JwtVerifier(
                JwksCache(StaticKeys(signer)), issuer="shopmesh", audience="shopmesh"
            ),
            counter=counter or MemoryCounter(),
            tracer_provider=provider,
            access_log=access_log or AccessLog(io.StringIO()),
        )
        return Harness(app, upstream, exporter)

    return build


@pytest.fixture
async def gw(make: Callable[..., Harness]) -> AsyncIterator[Harness]:
    harness = make()
    yield harness
    await harness.app.close()


def status_body(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}
    return body


# --- probes, docs --------------------------------------------------------------------------


async def test_healthz(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_names_upstreams_without_addresses(gw: Harness) -> None:
    async with gw.client() as client:
        assert (await client.get("/readyz")).status_code == 200
        gw.upstream.health["gwtest.v1.ConformanceService"] = False
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["upstreams"] == {"gwtest.v1.ConformanceService": "NOT_SERVING"}


async def test_readyz_only_for_configured_upstreams(make: Callable[..., Harness]) -> None:
    harness = make(ready_upstreams=("user",))
    harness.upstream.health["gwtest.v1.ConformanceService"] = False
    async with harness.client() as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["upstreams"] == {}


async def test_openapi_and_docs_are_served(gw: Harness) -> None:
    async with gw.client() as client:
        spec = await client.get("/openapi.json")
        docs = await client.get("/docs")
        js = await client.get("/docs/assets/swagger-ui-bundle.js")
        init = await client.get("/docs/init.js")
        missing = await client.get("/docs/assets/nope.js")
    assert spec.json()["openapi"] == "3.1.0"
    assert docs.headers["content-type"].startswith("text/html")
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text
    # No CDN: every asset comes from the gateway itself.
    assert "http://" not in docs.text and "https://" not in docs.text
    assert js.status_code == 200 and len(js.content) > 100_000
    assert "/openapi.json" in init.text
    assert missing.status_code == 404


# --- routing and body errors -----------------------------------------------------------


async def test_unknown_path_is_404_status_json(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.get("/v1/nowhere")
    assert response.status_code == 404
    assert status_body(response)["code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert not gw.upstream.calls


async def test_wrong_method_is_405_with_allow(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.delete("/v1/things/t1/nested")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH"
    status_body(response)


async def test_malformed_json_is_400(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.post(
            "/v1/echo/e1", content=b"{nope", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert "not valid JSON" in status_body(response)["message"]


async def test_unknown_query_parameter_is_400_naming_it(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.get("/v1/echo?bogus=1")
    body = status_body(response)
    assert response.status_code == 400
    assert body["details"][0]["fieldViolations"][0]["field"] == "bogus"


async def test_wrong_media_type_is_415(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.post(
            "/v1/echo/e1",
            content=b"id=1",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 415
    status_body(response)


async def test_json_with_charset_and_vendor_type_accepted(gw: Harness) -> None:
    async with gw.client() as client:
        a = await client.post(
            "/v1/echo/e1",
            content=b"{}",
            headers={"content-type": "application/json; charset=utf-8"},
        )
        b = await client.post(
            "/v1/echo/e1", content=b"{}", headers={"content-type": "application/merge-patch+json"}
        )
    assert (a.status_code, b.status_code) == (200, 200)


async def test_body_over_limit_is_413(make: Callable[..., Harness]) -> None:
    harness = make(max_body_bytes=64)
    async with harness.client() as client:
        response = await client.post("/v1/echo/e1", json={"id": "x" * 100})
    assert response.status_code == 413
    status_body(response)
    assert not harness.upstream.calls


async def test_bad_percent_encoding_is_400(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.get("/v1/things/%FF")
    assert response.status_code == 400


# --- success codes and JSON -------------------------------------------------------------


async def test_create_is_201_and_cancel_204(gw: Harness) -> None:
    async with gw.client() as client:
        created = await client.post("/v1/things", json={"name": "t"})
        cancelled = await client.post("/v1/things/t:cancel")
    assert created.status_code == 201
    assert created.json() == {"name": "", "view": "COLOR_UNSPECIFIED"}
    assert cancelled.status_code == 204
    assert cancelled.content == b""


async def test_response_body_and_zero_values(
    make: Callable[..., Harness], conformance_pb2: ModuleType
) -> None:
    def respond(route: Route, request: Message) -> Message:
        answer: Message = conformance_pb2.Everything(nested=conformance_pb2.Nested(b="n"))
        return answer

    harness = make(respond)
    async with harness.client() as client:
        nested = await client.get("/v1/things/x/nested")
        echo = await client.get("/v1/echo")
    assert nested.json() == {"b": "n", "depthLevel": 0}
    assert echo.json()["tags"] == [] and echo.json()["i64"] == "0"


# --- upstream errors ------------------------------------------------------------------------


async def test_service_error_details_are_carried(make: Callable[..., Harness]) -> None:
    rich = status_pb2.Status(code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message="bad email")
    packed = any_pb2.Any()
    packed.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="email", description="taken")
            ]
        )
    )
    rich.details.append(packed)

    def fail(route: Route, request: Message) -> Message:
        raise rpc_error(
            grpc.StatusCode.INVALID_ARGUMENT,
            "bad email",
            [("grpc-status-details-bin", rich.SerializeToString())],
        )

    harness = make(fail)
    async with harness.client() as client:
        response = await client.post("/v1/things", json={"name": "t"})
    assert response.status_code == 400
    assert status_body(response)["details"][0]["fieldViolations"] == [
        {"field": "email", "description": "taken"}
    ]


@pytest.mark.parametrize(
    ("code", "http"),
    [
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.FAILED_PRECONDITION, 400),
        (grpc.StatusCode.ABORTED, 409),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.UNIMPLEMENTED, 501),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
        (grpc.StatusCode.INTERNAL, 500),
        (grpc.StatusCode.CANCELLED, 499),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
    ],
)
async def test_upstream_codes(
    make: Callable[..., Harness], code: grpc.StatusCode, http: int
) -> None:
    def fail(route: Route, request: Message) -> Message:
        raise rpc_error(code, "failed to connect to all addresses; ipv4:10.9.8.7:50051")

    harness = make(fail)
    async with harness.client() as client:
        response = await client.get("/v1/things/t1")
    assert response.status_code == http
    assert status_body(response)["code"] == code.value[0]
    assert "10.9.8.7" not in response.text or code not in (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    )


async def test_upstream_unauthenticated_is_401_with_challenge(make: Callable[..., Harness]) -> None:
    def fail(route: Route, request: Message) -> Message:
        raise rpc_error(grpc.StatusCode.UNAUTHENTICATED, "token revoked")

    harness = make(fail)
    async with harness.client() as client:
        response = await client.get("/v1/things/t1")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unexpected_exception_is_500_without_trace(
    make: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    def crash(route: Route, request: Message) -> Message:
        raise RuntimeError("secret internal state at /srv/app.py line 3")

    harness = make(crash)
    with caplog.at_level(logging.ERROR):
        async with harness.client() as client:
            response = await client.get("/v1/things/t1")
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text
    assert status_body(response) == {"code": 13, "message": "internal error", "details": []}


# --- auth ------------------------------------------------------------------------------------


async def test_protected_route_without_token_is_401(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.get("/v1/staff/x")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="shopmesh"'
    assert not gw.upstream.calls


def _bad_tokens(signer: Signer) -> dict[str, str]:
    good = signer.token("a1", ["admin"])
    head, claims, signature = good.split(".")
    other = Signer("test-key")
    return {
        "expired": signer.token("a1", ["admin"], ttl=-3600),
        "tampered": f"{head}.{claims[:-4]}AAAA.{signature}",
        "wrong key": other.token("a1", ["admin"]),
        "unknown kid": Signer("other-kid").token("a1", ["admin"]),
        "alg none": unsigned_token(),
        "wrong audience": signer.token("a1", ["admin"], audience="elsewhere"),
        "wrong issuer": signer.token("a1", ["admin"], issuer="elsewhere"),
        "garbage": "not-a-jwt",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "expired",
        "tampered",
        "wrong key",
        "unknown kid",
        "alg none",
        "wrong audience",
        "wrong issuer",
        "garbage",
    ],
)
async def test_invalid_tokens_are_401(gw: Harness, signer: Signer, kind: str) -> None:
    token = _bad_tokens(signer)[kind]
    async with gw.client() as client:
        response = await client.get("/v1/staff/x", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert not gw.upstream.calls


async def test_non_bearer_scheme_is_401(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.get("/v1/staff/x", headers={"authorization": "Basic YTpi"})
    assert response.status_code == 401


ROLE_MATRIX = [
    # route, roles, subject, expected
    ("/v1/staff/x", ["admin"], "a1", 200),
    ("/v1/staff/x", ["inventory-manager"], "i1", 200),
    ("/v1/staff/x", ["customer-service"], "c1", 403),
    ("/v1/staff/x", ["customer"], "u1", 403),
    ("/v1/users/u1/owned", ["customer"], "u1", 200),
    ("/v1/users/u2/owned", ["customer"], "u1", 403),
    ("/v1/users/u2/owned", ["customer-service"], "c1", 200),
    ("/v1/users/u2/owned", ["inventory-manager"], "i1", 403),
    ("/v1/signed-in/x", ["customer"], "u1", 200),
]


@pytest.mark.parametrize(("path", "roles", "subject", "expected"), ROLE_MATRIX)
async def test_role_matrix(
    gw: Harness, signer: Signer, path: str, roles: list[str], subject: str, expected: int
) -> None:
    token = signer.token(subject, roles)
    async with gw.client() as client:
        response = await client.get(path, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == expected, response.text
    if expected == 200:
        assert gw.upstream.calls[-1].metadata["authorization"] == f"Bearer {token}"
    else:
        assert not gw.upstream.calls


async def test_owner_field_read_from_body(gw: Harness, signer: Signer) -> None:
    token = signer.token("u1")
    async with gw.client() as client:
        mine = await client.post(
            "/v1/owned", json={"userId": "u1"}, headers={"authorization": f"Bearer {token}"}
        )
        theirs = await client.post(
            "/v1/owned", json={"userId": "u2"}, headers={"authorization": f"Bearer {token}"}
        )
    assert (mine.status_code, theirs.status_code) == (200, 403)


async def test_public_route_ignores_a_bad_token(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.get("/v1/things/t1", headers={"authorization": "Bearer junk"})
    assert response.status_code == 200
    assert "authorization" not in gw.upstream.calls[-1].metadata


# --- rate limits --------------------------------------------------------------------------


async def test_61st_request_in_a_minute_is_429(make: Callable[..., Harness]) -> None:
    harness = make()
    async with harness.client() as client:
        for index in range(60):
            ok = await client.get("/v1/things/t1")
            assert ok.status_code == 200, index
        assert ok.headers["ratelimit-remaining"] == "0"
        limited = await client.get("/v1/things/t1")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["ratelimit-limit"] == "60"
    assert status_body(limited)["details"][0]["@type"].endswith("google.rpc.RetryInfo")
    assert len(harness.upstream.calls) == 60
    async with harness.client("198.51.100.1") as other:
        assert (await other.get("/v1/things/t1")).status_code == 200


async def test_route_limit_is_stricter(make: Callable[..., Harness]) -> None:
    harness = make(route_rate_limits={"gwtest.v1.ConformanceService.Create": 2})
    async with harness.client() as client:
        responses = [await client.post("/v1/things", json={}) for _ in range(3)]
        other_route = await client.get("/v1/things/t1")
    assert [r.status_code for r in responses] == [201, 201, 429]
    # The headers describe the tightest limit the request counted against.
    assert responses[0].headers["ratelimit-limit"] == "2"
    assert responses[0].headers["ratelimit-remaining"] == "1"
    assert other_route.status_code == 200
    assert other_route.headers["ratelimit-limit"] == "60"
    assert other_route.headers["ratelimit-remaining"] == "56"


async def test_per_user_limit(make: Callable[..., Harness], signer: Signer) -> None:
    harness = make(user_rate_limit_per_minute=2)
    token = signer.token("u1")
    async with harness.client() as client:
        codes = [
            (
                await client.get("/v1/signed-in/x", headers={"authorization": f"Bearer {token}"})
            ).status_code
            for _ in range(3)
        ]
    assert codes == [200, 200, 429]


class RoundTrips:
    """Counts the shared counter's calls: each would be one Redis round trip."""

    def __init__(self) -> None:
        self.inner = MemoryCounter()
        self.calls: list[list[str]] = []

    async def count_hits(self, limits: Sequence[Limit], window_ms: int) -> list[tuple[int, int]]:
        self.calls.append([key.split(":")[0] for key, _ in limits])
        return await self.inner.count_hits(limits, window_ms)


async def test_a_signed_in_request_on_a_limited_route_is_one_round_trip(
    make: Callable[..., Harness], signer: Signer
) -> None:
    trips = RoundTrips()
    harness = make(counter=trips, route_rate_limits={"gwtest.v1.ConformanceService.Create": 5})
    auth = {"authorization": f"Bearer {signer.token('u1')}"}
    async with harness.client() as client:
        created = await client.post("/v1/things", json={}, headers=auth)
    assert created.status_code == 201
    assert trips.calls == [["ip", "route", "user"]]


async def test_a_client_over_its_limit_is_refused_at_once_even_with_a_bad_token(
    make: Callable[..., Harness],
) -> None:
    trips = RoundTrips()
    harness = make(counter=trips, rate_limit_per_minute=2)
    junk = {"authorization": "Bearer junk"}
    async with harness.client() as client:
        codes = [(await client.get("/v1/signed-in/x", headers=junk)).status_code for _ in range(5)]
    # Refused requests are counted too; once over the limit, no count and no verification.
    assert codes == [401, 401, 429, 429, 429]
    assert trips.calls == [["ip"]] * 3


async def test_forwarded_for_only_from_trusted_proxies(make: Callable[..., Harness]) -> None:
    import ipaddress

    harness = make(rate_limit_per_minute=1, trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    async with harness.client("10.1.1.1") as proxy:
        first = await proxy.get("/v1/things/t", headers={"x-forwarded-for": "192.0.2.1"})
        second = await proxy.get("/v1/things/t", headers={"x-forwarded-for": "192.0.2.2, 10.2.2.2"})
    assert (first.status_code, second.status_code) == (200, 200)
    assert harness.upstream.calls[-1].metadata["x-forwarded-for"] == "192.0.2.2"
    async with harness.client("198.51.100.9") as direct:
        a = await direct.get("/v1/things/t", headers={"x-forwarded-for": "192.0.2.3"})
        b = await direct.get("/v1/things/t", headers={"x-forwarded-for": "192.0.2.4"})
    assert (a.status_code, b.status_code) == (200, 429)


# --- CORS, bots, request ids, deadlines, idempotency, tracing, logs -------------------------


async def test_preflight_from_allowed_origin(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.options(
            "/v1/things",
            headers={
                "origin": "https://ecommerce-example.com",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type, idempotency-key",
            },
        )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://ecommerce-example.com"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "3600"
    assert "PATCH" in response.headers["access-control-allow-methods"]
    assert "Idempotency-Key" in response.headers["access-control-allow-headers"]
    assert not gw.upstream.calls


async def test_preflight_from_other_origin_gets_no_cors_headers(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.options(
            "/v1/things",
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        )
    assert not [h for h in response.headers if h.startswith("access-control-")]
    assert not gw.upstream.calls


async def test_simple_request_cors_headers(gw: Harness) -> None:
    async with gw.client() as client:
        allowed = await client.get(
            "/v1/things/t", headers={"origin": "https://ecommerce-example.com"}
        )
        other = await client.get("/v1/things/t", headers={"origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://ecommerce-example.com"
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers


async def test_bots_are_denied(gw: Harness) -> None:
    async with gw.client() as client:
        response = await client.get("/v1/things/t", headers={"user-agent": "sqlmap/1.7"})
        browser = await client.get("/v1/things/t", headers={"user-agent": "Mozilla/5.0"})
    assert response.status_code == 403
    assert browser.status_code == 200


async def test_request_id_created_and_propagated(gw: Harness) -> None:
    async with gw.client() as client:
        created = await client.get("/v1/things/t")
        kept = await client.get("/v1/things/t", headers={"x-request-id": "abc-123"})
        replaced = await client.get("/v1/things/t", headers={"x-request-id": "bad id\twith spaces"})
    assert len(created.headers["x-request-id"]) == 32
    assert gw.upstream.calls[0].metadata["x-request-id"] == created.headers["x-request-id"]
    assert kept.headers["x-request-id"] == "abc-123"
    assert gw.upstream.calls[1].metadata["x-request-id"] == "abc-123"
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 10.0),
        ({"grpc-timeout": "500m"}, 0.5),
        ({"grpc-timeout": "2S"}, 2.0),
        ({"x-request-timeout": "1.5"}, 1.5),
        ({"x-request-timeout": "60"}, 10.0),
        ({"grpc-timeout": "1H"}, 10.0),
        ({"grpc-timeout": "junk"}, 10.0),
        ({"grpc-timeout": "3S", "x-request-timeout": "1"}, 1.0),
    ],
)
async def test_deadlines(gw: Harness, headers: dict[str, str], expected: float) -> None:
    async with gw.client() as client:
        await client.get("/v1/things/t", headers=headers)
    assert gw.upstream.calls[-1].timeout == pytest.approx(expected)


async def test_route_deadline_and_cap(make: Callable[..., Harness]) -> None:
    harness = make(
        route_timeouts={"gwtest.v1.ConformanceService.Create": 25.0}, max_timeout_seconds=20.0
    )
    async with harness.client() as client:
        await client.post("/v1/things", json={})
        await client.get("/v1/things/t")
    assert [c.timeout for c in harness.upstream.calls] == [20.0, 10.0]


async def test_idempotency_key_forwarded_where_the_contract_says(gw: Harness) -> None:
    async with gw.client() as client:
        await client.post("/v1/things", json={}, headers={"idempotency-key": "k-1"})
        await client.post("/v1/echo/e", json={}, headers={"idempotency-key": "k-2"})
        bad = await client.post("/v1/things", json={}, headers={"idempotency-key": "has space"})
    assert gw.upstream.calls[0].metadata["idempotency-key"] == "k-1"
    assert "idempotency-key" not in gw.upstream.calls[1].metadata
    assert bad.status_code == 400


async def test_span_per_request_continues_traceparent(gw: Harness) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with gw.client() as client:
        await client.get(
            "/v1/things/t", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
        )
    (span,) = gw.spans.get_finished_spans()
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.name == "GET /v1/things/{name}"
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 200


def _logging_at(level: int) -> logging.Logger:
    logger = logging.getLogger(f"gwtest.access.{level}")
    logger.setLevel(level)
    return logger


async def test_one_access_log_line_per_request(make: Callable[..., Harness]) -> None:
    stream = io.StringIO()
    gw = make(access_log=AccessLog(stream, flush_seconds=60, logger=_logging_at(logging.INFO)))
    async with gw.client() as client:
        await client.get("/v1/things/t", headers={"x-request-id": "rid-1"})
        assert stream.getvalue() == ""  # batched, not written per request
        await client.get("/healthz")
    await gw.app.close()  # writes what is batched
    first, probe = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["request_id"] == "rid-1"
    assert first["status"] == 200
    assert first["route"] == "/v1/things/{name}"
    assert first["client_ip"] == CLIENT_IP
    assert first["rpc"] == "/gwtest.v1.ConformanceService/GetThing"
    assert first["message"] == "GET /v1/things/{name} 200"
    assert (first["level"], first["logger"], first["service"]) == (
        "INFO",
        "gateway.access",
        "gateway",
    )
    (span, _) = gw.spans.get_finished_spans()
    assert first["trace_id"] == format(span.context.trace_id, "032x")
    assert probe["route"] == "/healthz"


async def test_access_log_lines_go_out_after_the_flush_interval() -> None:
    stream = io.StringIO()
    access_log = AccessLog(stream, flush_seconds=0.01, logger=_logging_at(logging.INFO))
    request = HttpRequest.from_scope(
        {"type": "http", "method": "GET", "path": "/x", "raw_path": b"/x", "headers": []}
    )
    access_log.record(request, RequestLog("r1"), 200, 0.001, 2)
    access_log.record(request, RequestLog("r2"), 404, 0.001, 2)
    assert stream.getvalue() == ""
    await asyncio.sleep(0.05)
    assert [json.loads(line)["request_id"] for line in stream.getvalue().splitlines()] == [
        "r1",
        "r2",
    ]


async def test_a_full_access_log_batch_is_written_at_once() -> None:
    stream = io.StringIO()
    access_log = AccessLog(stream, flush_seconds=60, max_batch=2, logger=_logging_at(logging.INFO))
    request = HttpRequest.from_scope(
        {"type": "http", "method": "GET", "path": "/x", "raw_path": b"/x", "headers": []}
    )
    for n in range(3):
        access_log.record(request, RequestLog(f"r{n}"), 200, 0.001, 2)
    assert len(stream.getvalue().splitlines()) == 2
    await access_log.close()
    assert len(stream.getvalue().splitlines()) == 3


async def test_access_log_follows_its_loggers_level() -> None:
    stream = io.StringIO()
    access_log = AccessLog(stream, logger=_logging_at(logging.WARNING))
    request = HttpRequest.from_scope(
        {"type": "http", "method": "GET", "path": "/x", "raw_path": b"/x", "headers": []}
    )
    access_log.record(request, RequestLog("r1"), 200, 0.001, 2)
    await access_log.close()
    assert stream.getvalue() == ""


async def test_close_releases_upstream(gw: Harness) -> None:
    await gw.app.close()
    assert gw.upstream.closed
