"""Reacting to events: the right message, once, with retries and a delivery log."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.order.v1 import order_pb2
from shop.payment.v1 import payment_pb2

from mesh.events import new_event
from services.notification.adapters.events import EventHandler
from services.notification.adapters.sms import SandboxSmsProvider
from services.notification.adapters.templates import TemplateRenderer
from services.notification.domain.delivery import (
    DeliveryFailedError,
    DeliveryPolicy,
    UnknownRecipientError,
)
from services.notification.domain.model import Channel, Contact, Preferences, Status
from services.notification.service_layer.delivery import Deliverer
from services.notification.service_layer.notifications import Notifier
from services.notification.service_layer.ports import Email

from .notification_fakes import FakeClock, FakeDirectory, FakeMail, FakeStore

ALICE = Contact("u-1", "alice@example.com", "Alice", version=1)
POLICY = DeliveryPolicy(
    max_attempts=3, first_backoff_seconds=1.0, max_backoff_seconds=4.0, sending_lease_seconds=60
)


@dataclass
class World:
    clock: FakeClock
    store: FakeStore
    mail: FakeMail
    sms: SandboxSmsProvider
    notifier: Notifier
    directory: FakeDirectory
    events: EventHandler


def world(mail: FakeMail | None = None, *, directory: FakeDirectory | None = None) -> World:
    clock = FakeClock()
    store = FakeStore(clock)
    store.contacts[ALICE.user_id] = ALICE
    mail = mail or FakeMail()
    sms = SandboxSmsProvider()
    directory = directory or FakeDirectory()
    deliverer = Deliverer(store, mail, sms, POLICY, clock, sleep=clock.sleep)
    notifier = Notifier(store, deliverer, TemplateRenderer(), directory)
    return World(clock, store, mail, sms, notifier, directory, EventHandler(notifier))


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="USD", units=minor // 100, nanos=minor % 100 * 10**7)


def paid_order(user_id: str = "u-1", name: str = "Blue mug") -> events_pb2.Event:
    order = order_pb2.Order(
        id="ord-4711",
        user_id=user_id,
        status=order_pb2.ORDER_STATUS_PAID,
        items=[
            order_pb2.OrderItem(
                product_id="p-1",
                name=name,
                quantity=2,
                unit_price=usd(1_250),
                line_total=usd(2_500),
            )
        ],
        subtotal=usd(2_500),
        shipping=usd(499),
        tax=usd(0),
        total=usd(123_499),
    )
    return new_event(
        events_pb2.OrderPaid(order=order),
        aggregate_type="order",
        aggregate_id=order.id,
        aggregate_version=3,
        producer="order",
    )


async def test_order_paid_sends_one_email_with_order_number_and_total() -> None:
    w = world()

    await w.events(paid_order())

    [email] = w.mail.sent
    assert email.to == "alice@example.com"
    assert "ord-4711" in email.subject and "1,234.99 USD" in email.subject
    assert "ord-4711" in email.text and "1,234.99 USD" in email.text
    assert "Hello Alice" in email.text and "2 x Blue mug" in email.text
    [row] = w.store.rows.values()
    assert (row.status, row.attempts, row.channel, row.template) == (
        Status.SENT,
        1,
        Channel.EMAIL,
        "order_paid",
    )
    assert email.message_id == row.message_id


async def test_html_body_is_autoescaped_and_text_body_is_not() -> None:
    w = world()

    await w.events(paid_order(name="<script>alert(1)</script>"))

    [email] = w.mail.sent
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "<script>alert(1)</script>" in email.text


async def test_the_same_event_again_sends_nothing() -> None:
    w = world()
    event = paid_order()

    await w.events(event)
    await w.events(event)

    assert len(w.mail.sent) == 1
    assert len(w.store.rows) == 1


async def test_transient_failures_are_retried_with_backoff_and_logged() -> None:
    w = world(FakeMail(failures=2))

    await w.events(paid_order())

    assert len(w.mail.sent) == 1
    assert w.clock.slept == [1.0, 2.0]
    [row] = w.store.rows.values()
    assert (row.status, row.attempts, row.error) == (Status.SENT, 3, "")


async def test_after_the_last_attempt_the_log_says_why_and_the_event_fails() -> None:
    w = world(FakeMail(failures=10))

    with pytest.raises(DeliveryFailedError, match="gave up after 3 attempts"):
        await w.events(paid_order())

    [row] = w.store.rows.values()
    assert row.status is Status.FAILED and row.attempts == 3
    assert "gave up after 3 attempts: ConnectionRefusedError" in row.error
    assert w.mail.sent == []


async def test_a_failed_message_is_not_retried_on_redelivery_but_still_fails() -> None:
    w = world(FakeMail(failures=10))
    event = paid_order()
    with pytest.raises(DeliveryFailedError):
        await w.events(event)
    attempts = w.mail.attempts

    with pytest.raises(DeliveryFailedError):
        await w.events(event)

    assert w.mail.attempts == attempts


async def test_a_permanent_refusal_is_not_retried() -> None:
    w = world(FakeMail(permanent=True))

    with pytest.raises(DeliveryFailedError, match="refused: 550"):
        await w.events(paid_order())

    [row] = w.store.rows.values()
    assert (row.status, row.attempts) == (Status.FAILED, 1)


async def test_an_interrupted_attempt_is_resent_with_the_same_message_id_after_the_lease() -> None:
    w = world()
    event = paid_order()
    await w.events(event)
    [row] = w.store.rows.values()
    # As if the process had died during the SMTP conversation of its first attempt.
    w.store.rows[row.id] = replace(
        row, status=Status.SENDING, attempt_started_at=w.clock.now, send_time=None
    )
    w.mail.sent.clear()

    await w.events(event)

    assert w.clock.slept == [60.5]  # a fresh attempt may still be talking to the server
    [email] = w.mail.sent
    assert email.message_id == row.message_id
    assert w.store.rows[row.id].status is Status.SENT
    assert w.store.rows[row.id].attempts == 2


async def test_a_stale_attempt_is_taken_over_at_once() -> None:
    w = world()
    event = paid_order()
    await w.events(event)
    [row] = w.store.rows.values()
    w.store.rows[row.id] = replace(
        row, status=Status.SENDING, attempt_started_at=w.clock.now - timedelta(minutes=5)
    )

    await w.events(event)

    assert w.clock.slept == []
    assert len(w.mail.sent) == 2  # the documented residual window: same Message-ID twice
    assert w.mail.sent[0].message_id == w.mail.sent[1].message_id


async def test_disabled_email_is_logged_as_skipped() -> None:
    w = world()
    w.store.preferences["u-1"] = Preferences("u-1", email_enabled=False)

    await w.events(paid_order())

    assert w.mail.sent == []
    [row] = w.store.rows.values()
    assert row.status is Status.SKIPPED and "disabled" in row.error


async def test_sms_goes_out_when_the_user_opted_in() -> None:
    w = world()
    w.store.preferences["u-1"] = Preferences("u-1", sms_enabled=True, phone_number="+15551234567")

    await w.events(paid_order())

    [text] = w.sms.sent
    assert text.to == "+15551234567" and "ord-4711" in text.text and "1,234.99 USD" in text.text
    assert len(w.mail.sent) == 1
    assert {row.channel for row in w.store.rows.values()} == {Channel.EMAIL, Channel.SMS}


async def test_sms_off_by_default_leaves_no_log_entry() -> None:
    w = world()

    await w.events(paid_order())

    assert w.sms.sent == []
    assert [row.channel for row in w.store.rows.values()] == [Channel.EMAIL]


async def test_unknown_user_is_looked_up_in_the_directory() -> None:
    bob = Contact("u-2", "bob@example.com", "Bob", version=0)
    w = world(directory=FakeDirectory(bob))

    await w.events(paid_order(user_id="u-2"))

    assert [email.to for email in w.mail.sent] == ["bob@example.com"]
    assert w.store.contacts["u-2"] == bob


async def test_unknown_user_without_directory_entry_is_retried_later() -> None:
    w = world()

    with pytest.raises(UnknownRecipientError):
        await w.events(paid_order(user_id="u-unknown"))


async def test_user_registered_keeps_the_contact_and_welcomes() -> None:
    w = world()
    event = new_event(
        events_pb2.UserRegistered(user_id="u-3", email="carol@example.com", display_name="Carol"),
        aggregate_type="user",
        aggregate_id="u-3",
        aggregate_version=1,
        producer="user",
    )

    await w.events(event)

    assert w.store.contacts["u-3"].email == "carol@example.com"
    [email] = w.mail.sent
    assert email.to == "carol@example.com" and "Welcome" in email.subject


async def test_the_welcome_mail_carries_the_verification_link_and_no_user_text_in_the_subject() -> (
    None
):
    w = world()
    link = "https://shop.example.com/v1/users:verifyEmail?token=abc.def.ghi"
    event = new_event(
        events_pb2.UserRegistered(
            user_id="u-3",
            email="carol@example.com",
            display_name="Buy cheap pills at evil.example",
            verification_url=link,
        ),
        aggregate_type="user",
        aggregate_id="u-3",
        aggregate_version=1,
        producer="user",
    )

    await w.events(event)

    [email] = w.mail.sent
    assert email.subject == "Welcome to shopmesh: please confirm your email address"
    assert link in email.text and f'href="{link}"' in email.html


async def test_a_sign_up_with_a_taken_address_tells_its_owner() -> None:
    w = world()
    event = new_event(
        events_pb2.SignUpWithExistingEmail(user_id="u-1", email="alice@example.com"),
        aggregate_type="user",
        aggregate_id="u-1",
        aggregate_version=1,
        producer="user",
    )

    await w.events(event)
    await w.events(event)  # redelivered: one mail

    [email] = w.mail.sent
    assert email.to == "alice@example.com"
    assert email.subject == "Someone tried to sign up at shopmesh with your email address"
    assert "no new account was created" in email.text


async def test_repeated_sign_in_failures_are_reported_to_the_owner() -> None:
    w = world()
    event = new_event(
        events_pb2.SignInFailuresDetected(
            user_id="u-1", email="alice@example.com", failure_count=5, window_seconds=900
        ),
        aggregate_type="user",
        aggregate_id="u-1",
        aggregate_version=1,
        producer="user",
    )

    await w.events(event)

    [email] = w.mail.sent
    assert email.to == "alice@example.com"
    assert email.subject == "Failed sign-in attempts on your shopmesh account"
    assert "5 failed attempts" in email.text and "15 minutes" in email.text


async def test_changed_email_is_announced_to_the_old_address_and_replays_are_ignored() -> None:
    w = world()
    event = new_event(
        events_pb2.UserUpdated(user_id="u-1", email="alice@new.example", display_name="Alice"),
        aggregate_type="user",
        aggregate_id="u-1",
        aggregate_version=2,
        producer="user",
    )

    await w.events(event)
    await w.events(replace_event_id(event))

    [email] = w.mail.sent
    assert email.to == "alice@example.com" and "alice@new.example" in email.text
    assert w.store.contacts["u-1"].email == "alice@new.example"


async def test_cancellation_and_refund_have_their_own_messages() -> None:
    w = world()
    order = paid_order().order_paid.order
    cancelled = new_event(
        events_pb2.OrderCancelled(order=order, reason="changed my mind", refunded=True),
        aggregate_type="order",
        aggregate_id=order.id,
        aggregate_version=4,
        producer="order",
    )
    payment = payment_pb2.Payment(
        id="pay-1", order_id=order.id, user_id="u-1", refunded_amount=usd(123_499)
    )
    refunded = new_event(
        events_pb2.PaymentRefunded(
            payment=payment, refund=payment_pb2.PaymentRefund(id="r-1", amount=usd(123_499))
        ),
        aggregate_type="payment",
        aggregate_id="pay-1",
        aggregate_version=3,
        producer="payment",
    )

    await w.events(cancelled)
    await w.events(refunded)

    subjects = [email.subject for email in w.mail.sent]
    assert subjects == ["Order ord-4711 cancelled", "Refund of 1,234.99 USD for order ord-4711"]
    assert "refunded in full" in w.mail.sent[0].text


async def test_events_shoppers_do_not_hear_about_send_nothing() -> None:
    w = world()
    event = new_event(
        events_pb2.CartItemAdded(user_id="u-1", product_id="p-1", quantity=1),
        aggregate_type="cart",
        aggregate_id="u-1",
        aggregate_version=1,
        producer="cart",
    )

    await w.events(event)

    assert w.mail.sent == [] and w.store.rows == {}


def replace_event_id(event: events_pb2.Event) -> events_pb2.Event:
    copy = events_pb2.Event()
    copy.CopyFrom(event)
    copy.event_id = "another-delivery-of-the-same-change"
    return copy


async def test_a_contact_without_email_is_logged_as_skipped() -> None:
    w = world()
    w.store.contacts["u-1"] = Contact("u-1", "", "Alice", version=2)

    await w.events(paid_order())

    assert w.mail.sent == []
    [row] = w.store.rows.values()
    assert row.status is Status.SKIPPED and row.error == "no email address known for the user"


class SlowMail(FakeMail):
    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()

    async def send(self, email: Email) -> None:
        self.started.set()
        await asyncio.sleep(0.05)
        await super().send(email)


async def test_a_shutdown_during_an_attempt_lets_it_finish_and_record() -> None:
    w = world(SlowMail())
    mail = w.mail
    assert isinstance(mail, SlowMail)
    handling = asyncio.create_task(w.events(paid_order()))
    await mail.started.wait()

    handling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handling

    [row] = w.store.rows.values()
    assert row.status is Status.SENT and len(mail.sent) == 1
