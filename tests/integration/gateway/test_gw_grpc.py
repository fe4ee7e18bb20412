"""The gateway against a real grpc.aio server: JSON both ways, errors, deadlines, metadata."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from unit.gateway.gwfakes import Signer

from gateway.edge.ratelimit import RedisCounter

from .gwserver import ConformanceServer, GatewayFactory, http_client

pytestmark = pytest.mark.integration

EVERYTHING = {
    "i32": -5,
    "i64": "-9007199254740993",
    "u64": "18446744073709551615",
    "dbl": 1.25,
    "flt": 0.5,
    "flag": True,
    "data": "AP8=",
    "color": "COLOR_BLUE",
    "tags": ["a", "b"],
    "nums": [1, 2],
    "colors": ["COLOR_RED"],
    "nested": {"b": "x", "depthLevel": 2, "inner": {"b": "y", "depthLevel": 0}},
    "ts": "2024-05-01T10:20:30.500Z",
    "dur": "1.500s",
    "mask": "displayName,nested.depthLevel",
    "wI64": "0",
    "wBool": False,
    "wStr": "",
    "wDbl": 2.5,
    "wI32": -1,
    "wU32": 7,
    "wU64": "8",
    "wFlt": 0.25,
    "wBytes": "AQI=",
    "attrs": {"k": [1.0, "x", None, {"n": True}]},
    "val": "text",
    "list": [1.0, "two"],
    "anything": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s"},
    "nothing": {},
    "counts": {"a": 1},
    "customLabel": "label",
    "maybe": 0,
    "children": [{"b": "c", "depthLevel": 1}],
    "s64": "-3",
    "f64": "4",
}


async def test_every_json_mapping_round_trips(make_gateway: GatewayFactory) -> None:
    async with http_client(make_gateway()) as client:
        response = await client.post("/v1/echo/e1", json=EVERYTHING)
    assert response.status_code == 200, response.text
    body = response.json()
    for key, value in EVERYTHING.items():
        assert body[key] == value, key
    assert body["id"] == "e1"


async def test_query_and_path_round_trip(make_gateway: GatewayFactory) -> None:
    query = (
        "i64=12&tags=a&tags=b&colors=COLOR_RED&colors=2&nested.b=x&nested.depth_level=3"
        "&ts=2024-01-02T03:04:05Z&dur=3s&wBool=true&customLabel=L&flag=false&data=AQ%3D%3D"
    )
    async with http_client(make_gateway()) as client:
        response = await client.get(f"/v1/echo?{query}")
        deep = await client.get("/v1/deep/a%2Fb/c%20d")
        files = await client.get("/v1/files/dir/sub%2Fdir/f.txt")
    body = response.json()
    assert body["i64"] == "12"
    assert body["tags"] == ["a", "b"]
    assert body["colors"] == ["COLOR_RED", "COLOR_BLUE"]
    assert body["nested"] == {"b": "x", "depthLevel": 3}
    assert body["ts"] == "2024-01-02T03:04:05Z"
    assert body["dur"] == "3s"
    assert body["wBool"] is True
    assert body["customLabel"] == "L"
    assert body["data"] == "AQ=="
    assert deep.json()["nested"] == {
        "b": "a/b",
        "depthLevel": 0,
        "inner": {"b": "c d", "depthLevel": 0},
    }
    assert files.json()["id"] == "dir/sub%2Fdir/f.txt"


async def test_body_field_with_query(make_gateway: GatewayFactory) -> None:
    async with http_client(make_gateway()) as client:
        response = await client.patch(
            "/v1/things/t1/nested?updateMask=b", json={"b": "new", "depth_level": 4}
        )
    assert response.json() == {
        "id": "t1",
        "nested": {"b": "new", "depthLevel": 4},
        "updateMask": "b",
    }


async def test_success_statuses(make_gateway: GatewayFactory) -> None:
    async with http_client(make_gateway()) as client:
        created = await client.post("/v1/things", json={"name": "n", "view": "COLOR_RED"})
        cancelled = await client.post("/v1/things/n:cancel")
        aliased = await client.get("/things/n?view=COLOR_BLUE")
    assert (created.status_code, created.json()) == (201, {"name": "n", "view": "COLOR_RED"})
    assert (cancelled.status_code, cancelled.content) == (204, b"")
    assert aliased.json() == {"name": "n", "view": "COLOR_BLUE"}


@pytest.mark.parametrize(
    ("code", "http"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.UNAUTHENTICATED, 401),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.FAILED_PRECONDITION, 400),
        (grpc.StatusCode.ABORTED, 409),
        (grpc.StatusCode.OUT_OF_RANGE, 400),
        (grpc.StatusCode.UNIMPLEMENTED, 501),
        (grpc.StatusCode.INTERNAL, 500),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DATA_LOSS, 500),
        (grpc.StatusCode.UNKNOWN, 500),
    ],
)
async def test_service_status_and_details(
    make_gateway: GatewayFactory, code: grpc.StatusCode, http: int
) -> None:
    async with http_client(make_gateway()) as client:
        response = await client.get(f"/v1/fail/{code.value[0]}?message=boom")
    assert response.status_code == http
    body = response.json()
    assert body["code"] == code.value[0]
    assert body["message"] == "boom"
    assert body["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "code", "description": "as asked"}],
        }
    ]


async def test_deadline_passes_is_504(make_gateway: GatewayFactory) -> None:
    async with http_client(make_gateway()) as client:
        response = await client.get("/v1/delay?delay=2s", headers={"x-request-timeout": "0.2"})
        quick = await client.get("/v1/delay?delay=0.01s")
    assert response.status_code == 504
    assert response.json()["code"] == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
    assert quick.status_code == 200


async def test_metadata_reaches_the_service(
    make_gateway: GatewayFactory, test_server: ConformanceServer, signer: Signer
) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    token = signer.token("u1")
    async with http_client(make_gateway(), ip="192.0.2.44") as client:
        response = await client.post(
            "/v1/things",
            json={"name": "x"},
            headers={
                "traceparent": f"00-{trace_id}-b7ad6b7169203331-01",
                "x-request-id": "req-42",
                "idempotency-key": "key-1",
                "authorization": f"Bearer {token}",
                "cookie": "session=secret",
                "x-test-group": "canary",
            },
        )
    assert response.status_code == 201
    seen = test_server.recorder.last
    assert seen["traceparent"].split("-")[1] == trace_id
    assert seen["x-request-id"] == "req-42"
    assert seen["idempotency-key"] == "key-1"
    assert seen["authorization"] == f"Bearer {token}"
    assert seen["x-forwarded-for"] == "192.0.2.44"
    assert seen["x-test-group"] == "canary"
    assert "cookie" not in seen


async def test_unreachable_service_is_503_without_address(make_gateway: GatewayFactory) -> None:
    async with http_client(
        make_gateway(address="127.0.0.1:1", default_timeout_seconds=2.0)
    ) as client:
        response = await client.get("/v1/things/t")
        ready = await client.get("/readyz")
    assert response.status_code == 503
    assert "127.0.0.1" not in response.text
    assert ready.status_code == 503
    assert "127.0.0.1" not in ready.text


async def test_readyz_follows_health(
    make_gateway: GatewayFactory, test_server: ConformanceServer
) -> None:
    from grpc_health.v1 import health_pb2

    async with http_client(make_gateway()) as client:
        assert (await client.get("/readyz")).status_code == 200
        await test_server.health.set(
            "gwtest.v1.ConformanceService", health_pb2.HealthCheckResponse.NOT_SERVING
        )
        try:
            not_ready = await client.get("/readyz")
        finally:
            await test_server.health.set(
                "gwtest.v1.ConformanceService", health_pb2.HealthCheckResponse.SERVING
            )
    assert not_ready.status_code == 503


async def test_rate_limit_is_shared_through_redis(
    make_gateway: GatewayFactory, redis_url: str
) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        prefix = f"gwtest:{id(redis)}:"
        replicas = [
            make_gateway(counter=RedisCounter(redis, prefix=prefix), rate_limit_per_minute=3)
            for _ in range(2)
        ]
        codes: list[int] = []
        for index in range(4):
            async with http_client(replicas[index % 2], ip="192.0.2.99") as client:
                codes.append((await client.get("/v1/things/t")).status_code)
        remaining = await redis.pttl(f"{prefix}ip:192.0.2.99")
    finally:
        await redis.aclose()
    assert codes == [200, 200, 200, 429]
    assert 0 < remaining <= 60_000


def _json(text: str) -> Any:
    return json.loads(text)
