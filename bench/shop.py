"""The calls the benchmark makes, as a shopper and as staff, over REST and over gRPC."""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
from google.protobuf import field_mask_pb2
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from shop.cart.v1 import cart_pb2, cart_pb2_grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.common.v1 import common_pb2
from shop.order.v1 import order_pb2, order_pb2_grpc
from shop.user.v1 import user_pb2, user_pb2_grpc

from bench.drive import Failed

log = logging.getLogger("bench")

ADDRESS = {
    "name": "Bench Shopper",
    "line1": "1 Load Street",
    "city": "Berlin",
    "region": "BE",
    "postalCode": "10115",
    "countryCode": "DE",
}
GRPC_ADDRESS = common_pb2.Address(
    name=ADDRESS["name"],
    line1=ADDRESS["line1"],
    city=ADDRESS["city"],
    region=ADDRESS["region"],
    postal_code=ADDRESS["postalCode"],
    country_code=ADDRESS["countryCode"],
)


@dataclass
class Shopper:
    user_id: str
    token: str

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


class Shop:
    """One HTTP session and gRPC channels, shared by every simulated shopper."""

    def __init__(
        self, gateway: str, envoy: str, health_hop: str, grpc_addresses: dict[str, str]
    ) -> None:
        self.gateway = gateway
        self.envoy = envoy
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256, force_close=False),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        self._channels = {
            name: aio.insecure_channel(grpc_addresses[name])
            for name in ("catalog", "cart", "order", "user")
        }
        self._channels["hop"] = aio.insecure_channel(health_hop)
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(self._channels["catalog"])
        self.cart = cart_pb2_grpc.CartServiceStub(self._channels["cart"])
        self.orders = order_pb2_grpc.OrderServiceStub(self._channels["order"])
        self.users = user_pb2_grpc.UserServiceStub(self._channels["user"])
        self.hop: Any = health_pb2_grpc.HealthStub(self._channels["hop"])
        self.admin_token = ""
        self.product_id = ""

    async def close(self) -> None:
        await self.http.close()
        for channel in self._channels.values():
            await channel.close()

    # -- setup -------------------------------------------------------------------------

    async def json(
        self, method: str, path: str, token: str = "", *, base: str = "", **kwargs: Any
    ) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", {}))
        async with self.http.request(
            method, (base or self.gateway) + path, headers=headers, **kwargs
        ) as response:
            text = await response.text()
            if response.status >= 300:
                raise RuntimeError(f"{method} {path}: {response.status} {text}")
            return await response.json() if text else None

    async def log_in_admin(self, email: str, password: str) -> None:
        tokens = await self.users.Login(
            user_pb2.LoginRequest(email=email, password=password), timeout=120
        )
        self.admin_token = str(tokens.access_token)

    async def new_product(self, inventory: int, name: str = "Bench Kettle") -> str:
        product = {
            "name": f"{name} {secrets.token_hex(3)}",
            "description": "A kettle that is bought a lot",
            "price": {"currencyCode": "USD", "units": "5", "nanos": 0},
            "category": "bench",
            "inventory": inventory,
        }
        created = await self.json("POST", "/v1/products", self.admin_token, json=product)
        return str(created["id"])

    async def new_shopper(self) -> Shopper:
        # Straight to the user service with a long deadline: registration and login hash
        # passwords on purpose slowly, and set-up is not what is measured.
        email = f"bench-{secrets.token_hex(6)}@shopmesh.example.com"
        password = f"Bench-{secrets.token_urlsafe(10)}-1"
        user = await self.users.Register(
            user_pb2.RegisterRequest(email=email, password=password, display_name="Bench"),
            timeout=120,
        )
        tokens = await self.users.Login(
            user_pb2.LoginRequest(email=email, password=password), timeout=120
        )
        return Shopper(str(user.id), str(tokens.access_token))

    async def new_shoppers(self, count: int) -> list[Shopper]:
        # One at a time, with retries: registration hashes passwords, slow on purpose, and
        # a busy machine can push one past the gateway's deadline.
        shoppers: list[Shopper] = []
        while len(shoppers) < count:
            batch = min(1, count - len(shoppers))
            shoppers += await asyncio.gather(*(self._registered() for _ in range(batch)))
        return shoppers

    async def _registered(self, attempts: int = 4) -> Shopper:
        for attempt in range(attempts):
            try:
                return await self.new_shopper()
            except aio.AioRpcError as error:
                log.warning("registering a shopper failed (try %d): %s", attempt + 1, error)
                await asyncio.sleep(1)
        raise RuntimeError("could not register a shopper")

    async def fill_cart(self, shopper: Shopper, product_id: str = "", quantity: int = 1) -> None:
        await self.cart.AddItem(
            cart_pb2.AddItemRequest(
                user_id=shopper.user_id, product_id=product_id or self.product_id, quantity=quantity
            ),
            metadata=shopper.metadata,
            timeout=30,
        )

    # -- timed calls -------------------------------------------------------------------

    async def get_ok(self, url: str, headers: dict[str, str] | None = None) -> bool:
        async with self.http.get(url, headers=headers) as response:
            await response.read()
            if response.status >= 300:
                raise Failed(f"HTTP {response.status}")
            return True

    async def health_check(self) -> bool:
        await self.hop.Check(health_pb2.HealthCheckRequest(), timeout=10)
        return True

    async def grpc_get_product(self, shopper: Shopper) -> bool:
        await self.catalog.GetProduct(
            catalog_pb2.GetProductRequest(id=self.product_id), metadata=shopper.metadata, timeout=10
        )
        return True

    async def paid_checkout(self, shopper: Shopper) -> bool:
        status, order_status = await self.checkout(shopper)
        if status >= 300:
            raise Failed(f"HTTP {status}")
        if order_status != "ORDER_STATUS_PAID":
            raise Failed(order_status or "no status")
        return True

    async def checkout(self, shopper: Shopper) -> tuple[int, str]:
        """HTTP status and order status of one checkout through the gateway."""
        body = {"userId": shopper.user_id, "paymentToken": "tok_visa", "shippingAddress": ADDRESS}
        headers = {**shopper.headers, "idempotency-key": str(uuid.uuid4())}
        async with self.http.post(
            self.gateway + "/v1/orders", json=body, headers=headers
        ) as response:
            answer = await response.json(content_type=None)
            status = answer.get("status", "") if isinstance(answer, dict) else ""
            return response.status, str(status)

    async def grpc_checkout(self, shopper: Shopper) -> bool:
        request = order_pb2.PlaceOrderRequest(
            user_id=shopper.user_id, payment_token="tok_visa", shipping_address=GRPC_ADDRESS
        )
        metadata = (*shopper.metadata, ("idempotency-key", str(uuid.uuid4())))
        order = await self.orders.PlaceOrder(request, metadata=metadata, timeout=30)
        if order.status != order_pb2.ORDER_STATUS_PAID:
            raise Failed(order_pb2.OrderStatus.Name(order.status))
        return True

    async def product_ids(self, count: int) -> list[str]:
        page = await self.catalog.ListProducts(
            catalog_pb2.ListProductsRequest(page_size=count), timeout=120
        )
        return [product.id for product in page.products]

    async def update_product(self, product_id: str, description: str) -> bool:
        await self.catalog.UpdateProduct(
            catalog_pb2.UpdateProductRequest(
                product=catalog_pb2.Product(id=product_id, description=description),
                update_mask=field_mask_pb2.FieldMask(paths=["description"]),
            ),
            metadata=(("authorization", f"Bearer {self.admin_token}"),),
            timeout=30,
        )
        return True
