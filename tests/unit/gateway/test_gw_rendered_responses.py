"""RenderedResponses: a service's serialized answer becomes the route's JSON, remembered by
its exact bytes (never stale: other bytes render anew) and bounded in size."""

from __future__ import annotations

import json

import pytest
from shop.catalog.v1 import catalog_pb2
from shop.common.v1 import common_pb2

from gateway.bootstrap import discover_services
from gateway.transcoding import response
from gateway.transcoding.response import RenderedResponses
from gateway.transcoding.routes import Route, routes_from_services


def route(grpc_path: str, http_method: str = "GET") -> Route:
    for candidate in routes_from_services(discover_services()):
        if candidate.grpc_path == grpc_path and candidate.http_method == http_method:
            return candidate
    raise LookupError(grpc_path)


GET_PRODUCT = "/shop.catalog.v1.CatalogService/GetProduct"


def product(inventory: int) -> bytes:
    return catalog_pb2.Product(
        id="p-1",
        name="Mug",
        price=common_pb2.Money(currency_code="EUR", units=12, nanos=500_000_000),
        inventory=inventory,
    ).SerializeToString()


def test_the_answer_is_rendered_as_proto3_json_with_zeros() -> None:
    body = RenderedResponses().render(route(GET_PRODUCT), product(0))
    tree = json.loads(body or b"")
    assert tree["id"] == "p-1"
    assert tree["price"] == {"currencyCode": "EUR", "units": "12", "nanos": 500000000}
    assert tree["inventory"] == 0


def test_the_same_bytes_are_rendered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = RenderedResponses()
    calls = []
    real = response.render_response

    def counting(*args: object) -> bytes | None:
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(response, "render_response", counting)
    first = rendered.render(route(GET_PRODUCT), product(5))
    again = rendered.render(route(GET_PRODUCT), product(5))
    assert again == first and len(calls) == 1
    changed = rendered.render(route(GET_PRODUCT), product(4))  # stock moved: other bytes
    assert json.loads(changed or b"")["inventory"] == 4 and len(calls) == 2


def test_a_204_route_has_no_body() -> None:
    deletes = [r for r in routes_from_services(discover_services()) if r.success_status == 204]
    assert deletes, "the contracts have routes answering 204"
    assert RenderedResponses().render(deletes[0], b"") is None


def test_the_oldest_bodies_go_beyond_the_byte_bound() -> None:
    rendered = RenderedResponses(max_bytes=1500)
    for inventory in range(20):
        rendered.render(route(GET_PRODUCT), product(inventory))
    assert 0 < rendered.remembered_bytes <= 1500
