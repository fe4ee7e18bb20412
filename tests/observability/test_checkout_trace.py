"""A checkout is one trace: gateway -> order -> catalog, payment, cart -> Kafka -> consumers."""

from __future__ import annotations

import secrets
import time
import uuid

import httpx
import pytest

from launcher.observability import Span, TraceViewer, fetch_trace, render_tree
from launcher.testing import RunningPlatform

ADDRESS = {
    "name": "Trace Shopper",
    "line1": "1 Span Street",
    "city": "Springfield",
    "region": "IL",
    "postalCode": "62701",
    "countryCode": "US",
}
# Spans reach the viewer in batches (the exporters flush every few seconds).
WAIT_SECONDS = 90.0
# The first run on a machine builds Jaeger from source (some twenty minutes on two busy cores).
pytestmark = pytest.mark.timeout(3600)


def _checkout(client: httpx.Client, admin_token: str, trace_id: str) -> dict[str, str]:
    product = {
        "name": "Traced Lamp",
        "description": "A lamp that leaves a trace",
        "price": {"currencyCode": "USD", "units": "12", "nanos": 990_000_000},
        "category": "tracing",
        "inventory": 10,
    }
    admin = {"Authorization": f"Bearer {admin_token}"}
    product_id = client.post("/v1/products", json=product, headers=admin).json()["id"]
    email = f"trace-{secrets.token_hex(6)}@shopmesh.example.com"
    password = f"{secrets.token_hex(8)}-Pw"
    user_id = client.post(
        "/v1/users", json={"email": email, "password": password, "displayName": "Tracer"}
    ).json()["id"]
    token = client.post("/v1/auth/login", json={"email": email, "password": password}).json()
    customer = {"Authorization": f"Bearer {token['accessToken']}"}
    client.post(
        f"/v1/carts/{user_id}/items",
        json={"productId": product_id, "quantity": 1},
        headers=customer,
    ).raise_for_status()
    # Our own sampled trace context: the checkout's spans all carry this trace id.
    headers = {
        **customer,
        "Idempotency-Key": str(uuid.uuid4()),
        "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
    }
    body = {"userId": user_id, "paymentToken": "tok_visa", "shippingAddress": ADDRESS}
    placed = client.post("/v1/orders", json=body, headers=headers)
    placed.raise_for_status()
    order: dict[str, str] = placed.json()
    return order


def _spans_until(viewer: TraceViewer, trace_id: str, services: set[str]) -> list[Span]:
    deadline = time.monotonic() + WAIT_SECONDS
    spans: list[Span] = []
    while time.monotonic() < deadline:
        spans = fetch_trace(viewer.url, trace_id) if _known(viewer, trace_id) else []
        if services <= {span.service for span in spans} and _consumed(spans):
            return spans
        time.sleep(2)
    return spans


def _known(viewer: TraceViewer, trace_id: str) -> bool:
    return httpx.get(f"{viewer.url}/api/traces/{trace_id}", timeout=10).status_code == 200


def _consumed(spans: list[Span]) -> bool:
    return any(span.name.startswith("consume ") for span in spans)


def test_a_checkout_is_one_trace_from_the_gateway_to_the_event_consumers(
    shop_platform: RunningPlatform, trace_viewer: TraceViewer
) -> None:
    trace_id = secrets.token_hex(16)
    with httpx.Client(base_url=shop_platform.base_url, timeout=60) as client:
        admin_token = client.post(
            "/v1/auth/login",
            json={"email": shop_platform.admin_email, "password": shop_platform.admin_password},
        ).json()["accessToken"]
        _checkout(client, admin_token, trace_id)
    spans = _spans_until(trace_viewer, trace_id, {"gateway", "order", "payment"})
    tree = render_tree(spans)
    services = {span.service for span in spans}
    assert {"gateway", "order", "payment"} <= services, tree
    assert _consumed(spans), f"no Kafka consumer span in the checkout's trace:\n{tree}"
    roots = [span for span in spans if span.parent_id not in {s.span_id for s in spans}]
    assert len(roots) == 1 and roots[0].service == "gateway", tree
