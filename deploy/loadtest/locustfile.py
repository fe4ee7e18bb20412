"""The seed's load test as a Locust script, runnable locally against the REST gateway.

    GATEWAY_RATE_LIMIT_PER_MINUTE=100000 GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE=100000 \
        .venv/bin/shop up --detach
    .venv/bin/locust -f deploy/loadtest/locustfile.py --headless \
        --host http://localhost:8080 --users 20 --spawn-rate 5 --run-time 1m

All simulated users share one client IP, so the gateway's per-IP rate limits (60 a minute by
default) must be raised for the run, as above; otherwise most requests measure the 429 path.

Each simulated shopper registers once, logs in, then browses products, searches, reads and
fills its cart. The run fails (exit code 1) when the seed's thresholds are missed: p95 of all
requests under 500 ms, of product listings under 400 ms, of cart reads under 300 ms, and
fewer than 1 % failures. Only point it at a gateway you run yourself.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import uuid
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment

# name -> p95 budget in milliseconds (None: the whole run).
THRESHOLDS: dict[str | None, int] = {None: 500, "get-products": 400, "get-cart": 300}
MAX_FAILURE_RATIO = 0.01
logger = logging.getLogger("loadtest")


def _subject(token: str) -> str:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return str(claims["sub"])


class ShopperUser(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        email = f"load-{uuid.uuid4().hex[:12]}@example.com"
        password = uuid.uuid4().hex
        self.client.post(
            "/v1/users",
            json={"email": email, "password": password, "displayName": "Load Test"},
            name="register",
        )
        login = self.client.post(
            "/v1/auth/login", json={"email": email, "password": password}, name="login"
        )
        token = login.json()["accessToken"] if login.ok else ""
        self.user_id = _subject(token) if token else "unknown"
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.product_ids: list[str] = []

    @task(5)
    def list_products(self) -> None:
        response = self.client.get("/v1/products?pageSize=20", name="get-products")
        if response.ok:
            self.product_ids = [p["id"] for p in response.json().get("products", [])]

    @task(3)
    def get_product(self) -> None:
        if self.product_ids:
            self.client.get(f"/v1/products/{random.choice(self.product_ids)}", name="get-product")

    @task(3)
    def get_cart(self) -> None:
        self.client.get(f"/v1/carts/{self.user_id}", name="get-cart")

    @task(1)
    def add_to_cart(self) -> None:
        if self.product_ids:
            item = {"productId": random.choice(self.product_ids), "quantity": 1}
            self.client.post(f"/v1/carts/{self.user_id}/items", json=item, name="add-to-cart")

    @task(2)
    def search(self) -> None:
        self.client.get("/v1/search?query=shirt", name="search")


def enforce_thresholds(environment: Environment, **_: Any) -> None:
    stats = environment.stats
    missed = []
    for name, budget in THRESHOLDS.items():
        entry = stats.total if name is None else stats.get(name, "GET")
        p95 = entry.get_response_time_percentile(0.95) or 0
        if entry.num_requests and p95 > budget:
            missed.append(f"{name or 'all'}: p95 {p95:.0f} ms > {budget} ms")
    if stats.total.fail_ratio > MAX_FAILURE_RATIO:
        missed.append(f"failures {stats.total.fail_ratio:.2%} > {MAX_FAILURE_RATIO:.0%}")
    if missed:
        environment.process_exit_code = 1
        logger.error("thresholds missed: %s", "; ".join(missed))


# locust's event hooks are untyped.
events.quitting.add_listener(enforce_thresholds)  # type: ignore[no-untyped-call]
