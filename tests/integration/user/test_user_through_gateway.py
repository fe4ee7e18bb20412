"""Accounts black-box through the real gateway (its own `build_app`, in process) over the real
user service, PostgreSQL, Kafka and Redis. The gateway trusts 127.0.0.1 as a proxy, so each
request's X-Forwarded-For names the shopper's address; with its client credentials the gateway
vouches for that address to the user service, which counts sign-in failures by it."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest
from shop.user.v1 import user_pb2

from gateway.app import GatewayApp
from gateway.bootstrap import build_app
from gateway.settings import GatewaySettings
from mesh.settings import ClientSettings

from .harness import GATEWAY_SECRET, Running
from .test_user_service import PASSWORD, first_user_event

Client = Callable[[str], httpx.AsyncClient]


def gateway_app(user_service: Running, redis_url: str, *, credentials: bool) -> GatewayApp:
    clients = ClientSettings(addresses={"user": user_service.address})
    if credentials:
        clients = replace(clients, client_id="gateway", client_secret=GATEWAY_SECRET)
    settings = GatewaySettings(
        clients=clients,
        redis_url=redis_url,
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )
    return build_app(settings, [user_pb2.DESCRIPTOR.services_by_name["UserService"]])


@pytest.fixture
async def gateway(user_service: Running, redis_url: str) -> AsyncIterator[GatewayApp]:
    app = gateway_app(user_service, redis_url, credentials=True)
    yield app
    await app.close()


@pytest.fixture
async def gateway_without_credentials(
    user_service: Running, redis_url: str
) -> AsyncIterator[GatewayApp]:
    app = gateway_app(user_service, redis_url, credentials=False)
    yield app
    await app.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    opened: list[httpx.AsyncClient] = []
    yield opened
    for client in opened:
        await client.aclose()


def client_of(app: GatewayApp, address: str, opened: list[httpx.AsyncClient]) -> httpx.AsyncClient:
    """An HTTP client of `app` whose requests come from the shopper at `address`."""
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
        base_url="http://gateway",
        headers={"x-forwarded-for": address},
    )
    opened.append(client)
    return client


@pytest.fixture
def shopper_at(gateway: GatewayApp, clients: list[httpx.AsyncClient]) -> Client:
    """An HTTP client whose requests come from the given shopper address."""
    return lambda address: client_of(gateway, address, clients)


def new_email() -> str:
    return f"gw-{secrets.token_hex(4)}@example.com"


async def sign_up(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(
        "/v1/users", json={"email": email, "password": PASSWORD, "displayName": "Gia"}
    )


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


async def test_twenty_bad_passwords_from_one_address_do_not_stop_the_owner_elsewhere(
    shopper_at: Client,
) -> None:
    email = new_email()
    owner, attacker = shopper_at("198.51.100.30"), shopper_at("203.0.113.66")
    assert (await sign_up(owner, email)).status_code == 201
    statuses = [(await login(attacker, email, "wrong password 1")).status_code for _ in range(20)]
    assert statuses[:2] == [401, 401] and set(statuses) <= {401, 429}
    assert statuses[-1] == 429  # the attacker is slowed down ...
    answer = await login(owner, email, PASSWORD)  # ... the owner is not
    assert answer.status_code == 200, answer.text
    assert answer.json()["accessToken"]


async def test_a_gateway_without_credentials_is_one_client_to_the_user_service(
    shopper_at: Client,
    gateway_without_credentials: GatewayApp,
    clients: list[httpx.AsyncClient],
) -> None:
    """The degraded mode: with no token to vouch for the addresses it forwards, the user
    service counts everyone behind that gateway as the gateway's own address, so an attacker
    locks the owner out through it; through the gateway that has its credentials she gets in."""
    email = new_email()
    assert (await sign_up(shopper_at("198.51.100.40"), email)).status_code == 201
    attacker = client_of(gateway_without_credentials, "203.0.113.67", clients)
    owner = client_of(gateway_without_credentials, "198.51.100.40", clients)
    assert (await login(attacker, email, "wrong password 1")).status_code == 401
    assert (await login(attacker, email, "wrong password 2")).status_code == 401
    await asyncio.sleep(1.1)  # past the slowdown: the third failure locks the address
    assert (await login(attacker, email, "wrong password 3")).status_code == 401
    assert (await login(owner, email, PASSWORD)).status_code == 429
    vouched = await login(shopper_at("198.51.100.40"), email, PASSWORD)
    assert vouched.status_code == 200, vouched.text


async def test_a_logged_out_token_is_refused_within_five_seconds(shopper_at: Client) -> None:
    email, shopper = new_email(), shopper_at("198.51.100.31")
    user = (await sign_up(shopper, email)).json()
    tokens = (await login(shopper, email, PASSWORD)).json()
    auth = {"authorization": f"Bearer {tokens['accessToken']}"}
    me = await shopper.get(f"/v1/users/{user['id']}", headers=auth)
    assert me.status_code == 200 and me.json()["email"] == email
    logout = await shopper.post(
        "/v1/auth/logout", json={"refreshToken": tokens["refreshToken"]}, headers=auth
    )
    assert logout.status_code == 204, logout.text
    signed_out = time.monotonic()
    while (await shopper.get(f"/v1/users/{user['id']}", headers=auth)).status_code != 401:
        assert time.monotonic() - signed_out < 5.0, "the revoked token still works after 5 s"
        await asyncio.sleep(0.2)


async def test_sign_up_for_a_taken_email_answers_like_a_new_one(shopper_at: Client) -> None:
    email, shopper = new_email(), shopper_at("198.51.100.32")
    first = await sign_up(shopper, email)
    again = await sign_up(shopper, email)
    assert first.status_code == again.status_code == 201
    assert first.json().keys() == again.json().keys()
    assert again.json()["id"] != first.json()["id"] and again.json()["email"] == email


async def test_the_mailed_verification_link_works_through_the_gateway(
    shopper_at: Client, user_service: Running
) -> None:
    email, shopper = new_email(), shopper_at("198.51.100.33")
    user = (await sign_up(shopper, email)).json()
    assert user.get("emailVerified", False) is False
    registered = await first_user_event(user_service, user["id"], "user_registered")
    link = urlsplit(registered.user_registered.verification_url)
    verified = await shopper.get(f"{link.path}?{link.query}")
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"emailVerified": True}
    forged = await shopper.get("/v1/users:verifyEmail?token=forged")
    assert forged.status_code == 400
    tokens = (await login(shopper, email, PASSWORD)).json()
    assert tokens["user"]["emailVerified"] is True
