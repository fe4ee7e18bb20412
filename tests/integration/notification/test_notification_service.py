"""The notification service end to end: real Kafka, PostgreSQL, SMTP capture server and user
service; events published as the order service would publish them."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import asyncpg
import grpc
import pytest
from aiosmtpd.handlers import Mailbox as MaildirHandler
from aiosmtpd.smtp import SMTP
from shop.notification.v1 import notification_pb2, notification_pb2_grpc

from launcher.mailbox import Mailbox, body_text
from launcher.testing import DatabaseFactory, SmtpCapture
from mesh.events import topic_for
from services.notification.main import build as build_notification

from ..user.harness import Running, service_running
from .conftest import notification_environ
from .event_bus import dead_letters, publisher, wait_for_record
from .notification_helpers import (
    about,
    log_rows,
    mail_to,
    order_cancelled,
    order_paid,
    register,
    settled_rows,
)

pytestmark = pytest.mark.integration


async def test_order_paid_sends_exactly_one_email_even_when_redelivered(
    user_service: Running,
    notification_service: Running,
    notification_database: str,
    smtp_capture: SmtpCapture,
    kafka_bootstrap: str,
) -> None:
    user_id, email, token = await register(user_service)
    welcome = await mail_to(smtp_capture.mailbox, email, lambda m: "Welcome" in str(m["Subject"]))
    assert "Sam Shopper" in body_text(welcome[0])
    paid = order_paid(user_id, total_minor=4_298)
    order_id = paid.order_paid.order.id

    async with publisher(kafka_bootstrap) as events:
        await events.publish(paid)
        [confirmation] = await mail_to(smtp_capture.mailbox, email, about(order_id))
        # The same event again (a Kafka redelivery), then a later event of the same order
        # (same key, same partition): once its mail is here, the duplicate was consumed.
        await events.publish(paid)
        await events.publish(order_cancelled(paid))
        await mail_to(smtp_capture.mailbox, email, lambda m: "cancelled" in str(m["Subject"]))

    assert len([m for m in smtp_capture.mailbox.to(email) if about(order_id)(m)]) == 2
    assert str(confirmation["Subject"]) == f"Order {order_id} confirmed: 42.98 USD"
    text = body_text(confirmation)
    assert order_id in text and "Total:    42.98 USD" in text and "2 x Blue mug" in text
    html = confirmation.get_body(("html",))
    assert html is not None and "<strong>42.98 USD</strong>" in str(html.get_content())
    rows = await settled_rows(notification_database, user_id, 3)
    assert [(r["template"], r["status"], r["attempts"]) for r in rows] == [
        ("welcome", "sent", 1),
        ("order_paid", "sent", 1),
        ("order_cancelled", "sent", 1),
    ]
    assert rows[1]["event_id"] == paid.event_id
    assert rows[1]["message_id"] == str(confirmation["Message-ID"])

    listed = await notification_pb2_grpc.NotificationServiceStub(
        notification_service.channel
    ).ListNotifications(notification_pb2.ListNotificationsRequest(user_id=user_id), metadata=token)
    assert [n.template for n in listed.notifications] == [
        "order_cancelled",
        "order_paid",
        "welcome",
    ]
    assert listed.notifications[1].status == notification_pb2.DELIVERY_STATUS_SENT


async def test_a_lost_processed_mark_still_sends_no_second_email(
    user_service: Running,
    notification_service: Running,
    notification_database: str,
    smtp_capture: SmtpCapture,
    kafka_bootstrap: str,
) -> None:
    """As if the process had died after the send was logged but before the event's
    processed mark and Kafka offset were committed: the delivery log alone dedupes."""
    user_id, email, _ = await register(user_service)
    paid = order_paid(user_id)
    order_id = paid.order_paid.order.id
    async with publisher(kafka_bootstrap) as events:
        await events.publish(paid)
        await mail_to(smtp_capture.mailbox, email, about(order_id))
        conn = await asyncpg.connect(notification_database)
        try:
            deleted = await conn.execute(
                "DELETE FROM processed_events WHERE event_id = $1", paid.event_id
            )
        finally:
            await conn.close()
        assert deleted == "DELETE 1"

        await events.publish(paid)
        await events.publish(order_cancelled(paid))
        await mail_to(smtp_capture.mailbox, email, lambda m: "cancelled" in str(m["Subject"]))

    assert len([m for m in smtp_capture.mailbox.to(email) if about(order_id)(m)]) == 2


async def test_customers_see_only_their_own_notifications(
    user_service: Running, notification_service: Running
) -> None:
    _, _, alice_token = await register(user_service)
    bob_id, _, _ = await register(user_service)
    stub = notification_pb2_grpc.NotificationServiceStub(notification_service.channel)

    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stub.ListNotifications(
            notification_pb2.ListNotificationsRequest(user_id=bob_id), metadata=alice_token
        )

    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_smtp_outage_then_recovery_delivers_one_email(
    user_service: Running,
    postgres_dsn: DatabaseFactory,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    """The mail server is down when the event arrives and comes up while the service retries."""
    # Registered (and its UserRegistered published) before this instance's consumer group
    # starts: the contact comes from the user service (GetUser with the service's own token).
    user_id, email, _ = await register(user_service)
    await wait_for_record(kafka_bootstrap, topic_for("user"), key=user_id)
    port = free_port()
    database = postgres_dsn()
    environ = await notification_environ(
        user_service, database, kafka_bootstrap, f"smtp://127.0.0.1:{port}", tmp_path / "state"
    )
    paid = order_paid(user_id)
    maildir = tmp_path / "mail"
    mailbox = Mailbox(maildir)

    async with service_running("notification", build_notification, environ):
        async with publisher(kafka_bootstrap) as events:
            await events.publish(paid)
        # Wait until attempts have failed against the closed port...
        async with asyncio.timeout(30):
            while not any(
                r["template"] == "order_paid" and r["attempts"] >= 2
                for r in await log_rows(database, user_id)
            ):
                await asyncio.sleep(0.2)
        # ...then start the capture server on that port.
        server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(MaildirHandler(maildir), hostname="capture.test"), "127.0.0.1", port
        )
        try:
            [delivered] = await mail_to(mailbox, email, about(paid.order_paid.order.id))
            await asyncio.sleep(1.0)  # time for a (wrong) second copy to show up
            assert [str(m["Subject"]) for m in mailbox.to(email)] == [str(delivered["Subject"])]
        finally:
            server.close()
            await server.wait_closed()

    [row] = [r for r in await log_rows(database, user_id) if r["template"] == "order_paid"]
    assert row["status"] == "sent" and row["attempts"] >= 3
    assert row["message_id"] == str(delivered["Message-ID"])


async def test_after_the_last_attempt_the_event_is_dead_lettered_and_logged(
    user_service: Running,
    postgres_dsn: DatabaseFactory,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    database = postgres_dsn()
    environ = await notification_environ(
        user_service,
        database,
        kafka_bootstrap,
        f"smtp://127.0.0.1:{free_port()}",
        tmp_path,
        NOTIFICATION_MAX_ATTEMPTS="2",
        NOTIFICATION_RETRY_BACKOFF_SECONDS="0.1",
    )
    user_id, _, _ = await register(user_service)
    paid = order_paid(user_id)

    async with service_running("notification", build_notification, environ):
        async with publisher(kafka_bootstrap) as events:
            await events.publish(paid)
        headers = await dead_letters(
            kafka_bootstrap, f"{topic_for('order')}.dlq", event_id=paid.event_id
        )

    assert b"gave up after 2 attempts" in headers["x-dlq-reason"]
    assert headers["x-dlq-consumer-group"] == environ["NOTIFICATION_CONSUMER_GROUP"].encode()
    [row] = [r for r in await log_rows(database, user_id) if r["template"] == "order_paid"]
    assert row["status"] == "failed" and row["attempts"] == 2
    assert row["error"].startswith("gave up after 2 attempts: ")
