"""The local trace viewer: its configuration, and a trace read back as a span tree."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from launcher.observability import TraceViewerPorts, fetch_trace, render_tree, viewer_config

# Jaeger's /api/traces/{id} answer for a checkout, cut down to the fields that are read.
TRACE = {
    "data": [
        {
            "processes": {"p1": {"serviceName": "gateway"}, "p2": {"serviceName": "order"}},
            "spans": [
                {
                    "spanID": "c",
                    "operationName": "consume shop.order.events",
                    "processID": "p2",
                    "startTime": 300,
                    "duration": 500,
                    "references": [{"refType": "CHILD_OF", "spanID": "b"}],
                },
                {
                    "spanID": "a",
                    "operationName": "POST /v1/orders",
                    "processID": "p1",
                    "startTime": 100,
                    "duration": 9000,
                    "references": [],
                },
                {
                    "spanID": "b",
                    "operationName": "/shop.order.v1.OrderService/PlaceOrder",
                    "processID": "p2",
                    "startTime": 200,
                    "duration": 8000,
                    "references": [{"refType": "CHILD_OF", "spanID": "a"}],
                },
                {
                    "spanID": "d",
                    "operationName": "/shop.payment.v1.PaymentService/Charge",
                    "processID": "p2",
                    "startTime": 250,
                    "duration": 1500,
                    "references": [{"refType": "CHILD_OF", "spanID": "b"}],
                },
            ],
        }
    ]
}


class _Jaeger(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(TRACE if self.path == "/api/traces/abc" else {"data": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def jaeger_api() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Jaeger)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_trace_is_printed_as_a_tree_in_start_order(jaeger_api: str) -> None:
    tree = render_tree(fetch_trace(jaeger_api, "abc"))
    assert tree.splitlines() == [
        "gateway: POST /v1/orders (9.0 ms)",
        "└─ order: /shop.order.v1.OrderService/PlaceOrder (8.0 ms)",
        "   ├─ order: /shop.payment.v1.PaymentService/Charge (1.5 ms)",
        "   └─ order: consume shop.order.events (0.5 ms)",
    ]


def test_an_unknown_trace_has_no_spans(jaeger_api: str) -> None:
    assert fetch_trace(jaeger_api, "missing") == []


def test_the_viewer_listens_on_loopback_only() -> None:
    config = viewer_config(TraceViewerPorts(otlp_grpc=1, otlp_http=2, query_http=3, query_grpc=4))
    endpoints = [line.split(": ", 1)[1] for line in config.splitlines() if "endpoint:" in line]
    assert endpoints == ["127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:1", "127.0.0.1:2"]
