"""The delivery log on real PostgreSQL: exclusive attempts, the lease, and an attempt
interrupted after the SMTP server accepted the message (the documented residual window)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg
import pytest

from launcher.testing import DatabaseFactory, SmtpCapture
from mesh.migrations import apply_migrations, load_migrations
from services.notification.adapters.mail import SmtpSender, SmtpServer
from services.notification.adapters.postgres import PostgresNotificationStore
from services.notification.adapters.sms import SandboxSmsProvider
from services.notification.domain.delivery import DeliveryPolicy
from services.notification.domain.model import Channel, Notification, Status
from services.notification.service_layer.delivery import Deliverer
from services.notification.service_layer.ports import Email, Rendered

pytestmark = pytest.mark.integration


@pytest.fixture
async def store(postgres_dsn: DatabaseFactory) -> AsyncIterator[PostgresNotificationStore]:
    pool = await asyncpg.create_pool(postgres_dsn(), min_size=1, max_size=3)
    async with pool.acquire() as conn:
        await apply_migrations(conn, load_migrations("services.notification"))
    try:
        yield PostgresNotificationStore(pool)
    finally:
        await pool.close()


def utc_now() -> datetime:
    return datetime.now(UTC)


def deliverer(store: PostgresNotificationStore, mail: object, lease: float) -> Deliverer:
    policy = DeliveryPolicy(max_attempts=3, first_backoff_seconds=0.1, sending_lease_seconds=lease)
    return Deliverer(store, mail, SandboxSmsProvider(), policy, utc_now)  # type: ignore[arg-type]


def entry(d: Deliverer, to: str) -> Notification:
    return d.new_entry(
        dedupe_key=f"{uuid.uuid4()}:email",
        user_id="u-1",
        channel=Channel.EMAIL,
        template="order_paid",
        recipient=to,
        subject="Order confirmed",
        event_id="e-1",
    )


async def test_an_attempt_is_exclusive_until_its_lease_passes(
    store: PostgresNotificationStore,
) -> None:
    claimed = await store.claim(entry(deliverer(store, None, 60), "a@example.com"))
    # Another row for the same dedupe key finds the first one.
    again = await store.claim(replace(claimed, id=str(uuid.uuid4())))
    assert again.id == claimed.id

    first = await store.begin_attempt(claimed.id, lease_seconds=0.5)
    assert first is not None and (first.status, first.attempts) == (Status.SENDING, 1)
    assert await store.begin_attempt(claimed.id, lease_seconds=0.5) is None
    await asyncio.sleep(0.7)
    taken_over = await store.begin_attempt(claimed.id, lease_seconds=0.5)
    assert taken_over is not None and taken_over.attempts == 2

    sent = await store.finish_attempt(claimed.id, Status.SENT, "")
    assert sent.status is Status.SENT and sent.send_time is not None
    assert await store.begin_attempt(claimed.id, lease_seconds=0.0) is None


class DiesAfterAccepted:
    """Hands the message to the real server, then the process is killed (SIGKILL: no
    graceful shutdown finishing the attempt) before the outcome is recorded."""

    def __init__(self, smtp: SmtpSender) -> None:
        self._smtp = smtp

    async def send(self, email: Email) -> None:
        await self._smtp.send(email)
        raise asyncio.CancelledError("process killed")


async def test_an_attempt_interrupted_after_acceptance_is_resent_once_with_the_same_message_id(
    store: PostgresNotificationStore, smtp_capture: SmtpCapture
) -> None:
    to = f"crash-{uuid.uuid4().hex[:8]}@example.com"
    smtp = SmtpSender(SmtpServer.from_url(smtp_capture.url), "shop <s@x>", timeout_seconds=3)
    content = Rendered("Order confirmed", "text", "<p>html</p>")
    dying = deliverer(store, DiesAfterAccepted(smtp), lease=0.5)
    message = entry(dying, to)
    with pytest.raises(asyncio.CancelledError):
        await dying.deliver(message, content, wait_for_other_sender=True)
    [stuck] = [r for r in [await store.get(message.id)] if r is not None]
    assert stuck.status is Status.SENDING

    # The event is redelivered to a fresh process: it waits out the lease, then resends.
    restarted = deliverer(store, smtp, lease=0.5)
    done = await restarted.deliver(message, content, wait_for_other_sender=True)
    again = await restarted.deliver(message, content, wait_for_other_sender=True)

    assert done.status is Status.SENT and done.attempts == 2 and again.id == done.id
    async with asyncio.timeout(10):
        while len(received := smtp_capture.mailbox.to(to)) < 2:
            await asyncio.sleep(0.1)
    assert {str(m["Message-ID"]) for m in received} == {message.message_id}
