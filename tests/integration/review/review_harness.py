"""Real review, catalog and search services for the integration tests.

FerretDB, Kafka and Elasticsearch come from the shared fixtures; every service runs in a
real grpc.aio server on port 0, assembled by its own `build`. The order and user services
are small fakes answering the two calls the review service makes (HasPurchased, GetUser).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import jwt
from shop.catalog.v1 import catalog_pb2
from shop.order.v1 import order_pb2, order_pb2_grpc
from shop.user.v1 import user_pb2, user_pb2_grpc

from mesh.bootstrap import Build

from ..service_harness import Running, TokenKeys, run_service, usd

Context = grpc.aio.ServicerContext[Any, Any]


@asynccontextmanager
async def run_with_service_token(
    name: str, build: Build, environ: Mapping[str, str], keys: TokenKeys
) -> AsyncIterator[Running]:
    """`run_service` whose outgoing calls without a caller carry its service token."""
    async with run_service(
        name, build, environ, keys, service_subject=f"service:{name}", host="127.0.0.1"
    ) as running:
        yield running


# -- fakes of the order and user services -------------------------------------------------


async def _unimplemented(self: object, request: object, context: Context) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not part of the review tests' fake")


# Typed Any: stands in for the methods the fakes do not need.
_not_faked: Any = _unimplemented


@dataclass
class FakeOrders(order_pb2_grpc.OrderServiceServicer):
    purchases: set[tuple[str, str]] = field(default_factory=set)
    # The roles of each HasPurchased caller: the review service must call as itself.
    caller_roles: list[str] = field(default_factory=list)

    PlaceOrder = GetOrder = ListOrders = CancelOrder = _not_faked

    async def HasPurchased(
        self, request: order_pb2.HasPurchasedRequest, context: Context
    ) -> order_pb2.HasPurchasedResponse:
        metadata = dict(context.invocation_metadata() or ())
        token = str(metadata.get("authorization", "")).removeprefix("Bearer ")
        claims = jwt.decode(token, options={"verify_signature": False}) if token else {}
        self.caller_roles += claims.get("roles", [])
        bought = (request.user_id, request.product_id) in self.purchases
        return order_pb2.HasPurchasedResponse(
            purchased=bought, order_id="order-1" if bought else ""
        )


class FakeUsers(user_pb2_grpc.UserServiceServicer):
    Register = Login = RefreshToken = Logout = UpdateUser = ListUsers = _not_faked
    GetJwks = IssueServiceToken = VerifyEmail = _not_faked

    async def GetUser(self, request: user_pb2.GetUserRequest, context: Context) -> user_pb2.User:
        return user_pb2.User(id=request.id, display_name=f"Shopper {request.id}")


@asynccontextmanager
async def fake_upstreams(orders: FakeOrders) -> AsyncIterator[Running]:
    server = grpc.aio.server()
    order_pb2_grpc.add_OrderServiceServicer_to_server(orders, server)
    user_pb2_grpc.add_UserServiceServicer_to_server(FakeUsers(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield Running(port, "127.0.0.1")
    finally:
        await server.stop(0)


# -- environments -------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def catalog_environ(ferretdb_url: str, kafka: str) -> dict[str, str]:
    return {
        "GRPC_PORT": "0",
        "MONGODB_URL": ferretdb_url,
        "CATALOG_MONGODB_DATABASE": unique("catalog"),
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "CATALOG_OUTBOX_POLL_SECONDS": "0.05",
    }


def review_environ(
    ferretdb_url: str, kafka: str, *, catalog: str, upstreams: str
) -> dict[str, str]:
    return {
        "GRPC_PORT": "0",
        "MONGODB_URL": ferretdb_url,
        "REVIEW_MONGODB_DATABASE": unique("review"),
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REVIEW_OUTBOX_POLL_SECONDS": "0.05",
        "CATALOG_SERVICE_ADDR": catalog,
        "ORDER_SERVICE_ADDR": upstreams,
        "USER_SERVICE_ADDR": upstreams,
    }


def search_environ(elasticsearch_url: str, kafka: str, *, catalog: str) -> dict[str, str]:
    return {
        "GRPC_PORT": "0",
        "ELASTICSEARCH_URL": elasticsearch_url,
        "SEARCH_INDEX_ALIAS": unique("products"),
        "SEARCH_CONSUMER_GROUP": unique("search"),
        "SEARCH_REINDEX_GRACE_SECONDS": "0.5",
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "CATALOG_SERVICE_ADDR": catalog,
    }


# -- helpers ------------------------------------------------------------------------------


def new_product(
    name: str,
    *,
    price: int = 1299,
    category: str = "kitchen",
    inventory: int = 10,
    description: str = "",
) -> catalog_pb2.CreateProductRequest:
    return catalog_pb2.CreateProductRequest(
        product=catalog_pb2.Product(
            name=name,
            description=description,
            price=usd(price),
            category=category,
            inventory=inventory,
        )
    )
