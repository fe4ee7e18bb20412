"""Shared by the notification integration tests: shoppers from the real user service, events
as the order service publishes them, and waiting for mail without blocking the loop."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable
from email.message import EmailMessage

import asyncpg
from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.order.v1 import order_pb2
from shop.user.v1 import user_pb2, user_pb2_grpc

from launcher.mailbox import Mailbox
from mesh.events import Event, new_event

from ..user.harness import Running

Metadata = tuple[tuple[str, str], ...]


async def register(user_service: Running) -> tuple[str, str, Metadata]:
    """A new shopper through the real user service (its UserRegistered reaches Kafka)."""
    users = user_pb2_grpc.UserServiceStub(user_service.channel)
    email, password = f"shopper-{secrets.token_hex(4)}@example.com", "correct horse 42"
    await users.Register(
        user_pb2.RegisterRequest(email=email, password=password, display_name="Sam Shopper")
    )
    login = await users.Login(user_pb2.LoginRequest(email=email, password=password))
    return login.user.id, email, (("authorization", f"Bearer {login.access_token}"),)


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="USD", units=minor // 100, nanos=minor % 100 * 10**7)


def order_paid(user_id: str, total_minor: int = 4_298) -> Event:
    order = order_pb2.Order(
        id=f"ord-{uuid.uuid4().hex[:12]}",
        user_id=user_id,
        status=order_pb2.ORDER_STATUS_PAID,
        items=[
            order_pb2.OrderItem(
                product_id="p-mug",
                name="Blue mug",
                quantity=2,
                unit_price=usd(1_900),
                line_total=usd(3_800),
            )
        ],
        subtotal=usd(3_800),
        shipping=usd(total_minor - 3_800),
        tax=usd(0),
        total=usd(total_minor),
        payment_id="pay-1",
    )
    return new_event(
        events_pb2.OrderPaid(order=order),
        aggregate_type="order",
        aggregate_id=order.id,
        aggregate_version=3,
        producer="order",
    )


def order_cancelled(paid: Event) -> Event:
    order = paid.order_paid.order
    return new_event(
        events_pb2.OrderCancelled(order=order, reason="changed my mind", refunded=True),
        aggregate_type="order",
        aggregate_id=order.id,
        aggregate_version=4,
        producer="order",
    )


async def mail_to(
    mailbox: Mailbox,
    address: str,
    match: Callable[[EmailMessage], bool] = lambda _: True,
    *,
    count: int = 1,
    timeout: float = 30.0,
) -> list[EmailMessage]:
    """Waits (without blocking the loop the services run on) for `count` matching messages."""
    async with asyncio.timeout(timeout):
        while True:
            found = [m for m in await asyncio.to_thread(mailbox.to, address) if match(m)]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.2)


def about(order_id: str) -> Callable[[EmailMessage], bool]:
    return lambda message: order_id in str(message["Subject"])


async def log_rows(database_url: str, user_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(
            "SELECT * FROM notifications WHERE user_id = $1 ORDER BY create_time", user_id
        )
    finally:
        await conn.close()


async def settled_rows(
    database_url: str, user_id: str, count: int, *, event_id: str = "", timeout: float = 30.0
) -> list[asyncpg.Record]:
    """The user's log rows (of `event_id` if given) once there are `count` and none is still
    pending or sending (the mail server may have the message before its row says `sent`)."""
    async with asyncio.timeout(timeout):
        while True:
            rows = [
                r
                for r in await log_rows(database_url, user_id)
                if not event_id or r["event_id"] == event_id
            ]
            if len(rows) >= count and all(r["status"] not in ("pending", "sending") for r in rows):
                return rows
            await asyncio.sleep(0.2)
