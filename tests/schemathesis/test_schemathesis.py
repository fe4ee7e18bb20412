"""schemathesis (property-based, every operation, stateful phase) against the e2e platform.

One run per caller: an admin, a customer, and an anonymous client on the public operations.
Each run must end with zero failures; schemathesis.toml says which checks are narrowed where.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from launcher.testing import RunningPlatform

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Generous: three phases of 25 examples for about fifty operations, then the stateful phase.
RUN_TIMEOUT_SECONDS = 1800
# A password the service's policy accepts (length, letters and digits, not the address).
PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyz"


@dataclass(frozen=True)
class Caller:
    """Who schemathesis acts as (token None: anonymous), and the ids its requests address."""

    token: str | None
    user_id: str
    product_id: str


def _login(client: httpx.Client, email: str, password: str) -> str:
    answer = client.post("/v1/auth/login", json={"email": email, "password": password})
    answer.raise_for_status()
    token: str = answer.json()["accessToken"]
    return token


def _create_product(client: httpx.Client, admin_token: str) -> str:
    product = {
        "name": "Fuzzed Lamp",
        "description": "A lamp for the schemathesis run",
        "price": {"currencyCode": "USD", "units": "12", "nanos": 990_000_000},
        "category": "fuzzing",
        "inventory": 1000,
    }
    answer = client.post(
        "/v1/products", json=product, headers={"Authorization": f"Bearer {admin_token}"}
    )
    answer.raise_for_status()
    product_id: str = answer.json()["id"]
    return product_id


def _register_customer(client: httpx.Client) -> tuple[str, str]:
    email = f"st-{secrets.token_hex(6)}@shopmesh.example.com"
    password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(12)) + "-42"
    answer = client.post(
        "/v1/users", json={"email": email, "password": password, "displayName": "Fuzz Customer"}
    )
    answer.raise_for_status()
    user_id: str = answer.json()["id"]
    return user_id, _login(client, email, password)


@pytest.fixture(scope="module")
def callers(shop_platform: RunningPlatform) -> dict[str, Caller]:
    with httpx.Client(base_url=shop_platform.base_url, timeout=30) as client:
        customer_id, customer_token = _register_customer(client)
        admin_token = _login(client, shop_platform.admin_email, shop_platform.admin_password)
        product_id = _create_product(client, admin_token)
    # Everyone addresses the customer's resources: the customer owns them, the admin may
    # reach them, and the anonymous client must be refused on every protected one.
    return {
        "customer": Caller(customer_token, customer_id, product_id),
        "admin": Caller(admin_token, customer_id, product_id),
        "anonymous": Caller(None, customer_id, product_id),
    }


def _public_operation_ids(base_url: str) -> list[str]:
    document: dict[str, Any] = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    return sorted(
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
        if operation.get("security") == []
    )


def _schemathesis(base_url: str, caller: Caller, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        *(["--header", f"Authorization: Bearer {caller.token}"] if caller.token else []),
        *extra,
    ]
    environment = dict(
        os.environ, SHOPMESH_ST_USER_ID=caller.user_id, SHOPMESH_ST_PRODUCT_ID=caller.product_id
    )
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=environment,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 120)
@pytest.mark.parametrize("role", ["customer", "admin", "anonymous"])
def test_the_api_conforms_to_its_document(
    role: str, callers: dict[str, Caller], shop_platform: RunningPlatform
) -> None:
    extra: list[str] = []
    if role == "anonymous":
        for operation_id in _public_operation_ids(shop_platform.base_url):
            extra += ["--include-operation-id", operation_id]
    result = _schemathesis(shop_platform.base_url, callers[role], *extra)
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"schemathesis as {role} found failures:\n{report}"
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    tested = re.search(r"Tested: (\d+)", report)
    assert selected is not None and tested is not None, report
    # Every selected operation ran (none skipped for want of a usable schema).
    assert tested.group(1) == selected.group(1), report
    if role != "anonymous":
        assert selected.group(1) == selected.group(2), report
