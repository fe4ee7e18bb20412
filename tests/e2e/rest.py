"""A shopper's view of the platform: HTTP/JSON through the gateway only."""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import httpx

__all__ = ["ADDRESS", "Api", "eventually", "money", "new_client_ip", "strong_password"]

T = TypeVar("T")

ADDRESS: dict[str, str] = {
    "name": "Ada Shopper",
    "line1": "1 Test Street",
    "line2": "",
    "city": "Berlin",
    "region": "BE",
    "postalCode": "10115",
    "countryCode": "DE",
}

# Each test client presents its own address (the gateway trusts X-Forwarded-For from the local
# proxy range in the e2e platform), so each has its own rate-limit bucket.
_ADDRESSES = itertools.count(secrets.randbelow(20_000) + 1)


def new_client_ip() -> str:
    n = next(_ADDRESSES)
    return f"198.18.{(n // 254) % 256}.{n % 254 + 1}"


def strong_password() -> str:
    return f"Pw-{secrets.token_urlsafe(12)}-9"


def money(value: Mapping[str, Any]) -> Decimal:
    return Decimal(str(value.get("units", "0"))) + Decimal(int(value.get("nanos", 0))) / Decimal(
        1_000_000_000
    )


def eventually(check: Callable[[], T | None], *, timeout: float = 120.0, what: str = "") -> T:
    """Polls `check` until it returns something truthy (events travel through Kafka)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what or check.__name__}; last: {last!r}")


class Api:
    """One client of the REST API with its own IP and, once logged in, its own token."""

    def __init__(self, base_url: str, ip: str | None = None) -> None:
        self.ip = ip or new_client_ip()
        self.http = httpx.Client(
            base_url=base_url, timeout=30.0, headers={"x-forwarded-for": self.ip}
        )
        self.token: str | None = None
        self.user_id: str = ""
        self.email: str = ""

    def close(self) -> None:
        self.http.close()

    def request(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        bearer = token if token is not None else self.token
        if bearer:
            headers.setdefault("authorization", f"Bearer {bearer}")
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def ok(self, response: httpx.Response, *expected: int) -> Any:
        wanted = expected or (200,)
        assert response.status_code in wanted, (
            f"{response.request.method} {response.request.url.path} -> "
            f"{response.status_code}: {response.text}"
        )
        return response.json() if response.content else None

    def polled(self, response: httpx.Response) -> Any:
        """For polling a view that is eventually consistent: the JSON of a 200, None while the
        service answers 503/504 (an index or projection still starting); anything else fails."""
        if response.status_code in (503, 504):
            return None
        return self.ok(response)

    def register(self, email: str, password: str, display_name: str = "E2E Shopper") -> Any:
        body = {"email": email, "password": password, "displayName": display_name}
        return self.ok(self.post("/v1/users", json=body, token=""), 200, 201)

    def login(self, email: str, password: str) -> Any:
        tokens = self.ok(
            self.post("/v1/auth/login", json={"email": email, "password": password}, token="")
        )
        self.token = tokens["accessToken"]
        self.user_id = token_subject(tokens["accessToken"])
        self.email = email
        return tokens


def token_subject(token: str) -> str:
    """The `sub` claim, read without verification (the gateway verifies; this only reads)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])
