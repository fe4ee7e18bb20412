"""Direct sends, the delivery log listing, preferences, and the mail adapter's pure parts."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.errors import FailedPreconditionError, InvalidArgumentError, PermissionDeniedError
from services.notification.adapters.mail import SmtpSender, SmtpServer
from services.notification.adapters.sms import SandboxSmsProvider
from services.notification.adapters.templates import TemplateRenderer
from services.notification.domain.delivery import DeliveryPolicy
from services.notification.domain.model import Channel, Contact, Preferences, Status
from services.notification.domain.money import format_money
from services.notification.service_layer.delivery import Deliverer
from services.notification.service_layer.notifications import Notifier, SendRequest
from services.notification.service_layer.ports import Email

from .notification_fakes import FakeClock, FakeMail, FakeStore

SERVICE = Identity.from_claims("service:order", frozenset({rbac.SERVICE}), "t")
ALICE = Identity.from_claims("u-1", frozenset({rbac.CUSTOMER}), "t")
BOB = Identity.from_claims("u-2", frozenset({rbac.CUSTOMER}), "t")


def notifier(mail: FakeMail | None = None) -> tuple[Notifier, FakeStore, FakeMail, FakeClock]:
    clock = FakeClock()
    store = FakeStore(clock)
    store.contacts["u-1"] = Contact("u-1", "alice@example.com", "Alice", 1)
    mail = mail or FakeMail()
    policy = DeliveryPolicy(max_attempts=2, first_backoff_seconds=0.0)
    deliverer = Deliverer(store, mail, SandboxSmsProvider(), policy, clock, sleep=clock.sleep)
    return Notifier(store, deliverer, TemplateRenderer()), store, mail, clock


def request(**changes: object) -> SendRequest:
    fields: dict[str, object] = {
        "user_id": "u-1",
        "channel": Channel.EMAIL,
        "template": "order_paid",
        "variables": {
            "order_id": "o-9",
            "total": "5.00 USD",
            "subtotal": "5.00 USD",
            "shipping": "0.00 USD",
            "tax": "0.00 USD",
            "items": "",
        },
        "recipient": "",
        "idempotency_key": "k-1",
    }
    fields.update(changes)
    return SendRequest(**fields)  # type: ignore[arg-type]


async def test_send_is_idempotent_per_key() -> None:
    use_cases, store, mail, _ = notifier()

    first = await use_cases.send(SERVICE, request())
    again = await use_cases.send(SERVICE, request())

    assert first.id == again.id and first.status is Status.SENT
    assert len(mail.sent) == 1 and mail.sent[0].to == "alice@example.com"


async def test_send_to_an_explicit_recipient() -> None:
    use_cases, _, mail, _ = notifier()

    await use_cases.send(SERVICE, request(recipient="ops@example.com"))

    assert mail.sent[0].to == "ops@example.com"


async def test_send_returns_failed_after_the_last_attempt() -> None:
    use_cases, _, _, _ = notifier(FakeMail(failures=5))

    sent = await use_cases.send(SERVICE, request())

    assert sent.status is Status.FAILED and sent.attempts == 2


async def test_send_respects_preferences() -> None:
    use_cases, store, mail, _ = notifier()
    store.preferences["u-1"] = Preferences("u-1", email_enabled=False)

    sent = await use_cases.send(SERVICE, request())

    assert sent.status is Status.SKIPPED and mail.sent == []


async def test_send_checks_template_variables_and_recipient() -> None:
    use_cases, _, _, _ = notifier()

    with pytest.raises(InvalidArgumentError) as unknown:
        await use_cases.send(SERVICE, request(template="no_such_template"))
    assert unknown.value.violations[0].field == "template"
    with pytest.raises(InvalidArgumentError) as missing:
        await use_cases.send(SERVICE, request(variables={"order_id": "o-1"}))
    assert missing.value.violations[0].field == "variables"
    with pytest.raises(InvalidArgumentError):
        await use_cases.send(SERVICE, request(channel=Channel.SMS, recipient="not-a-number"))
    with pytest.raises(FailedPreconditionError):
        await use_cases.send(SERVICE, request(channel=Channel.SMS, template="order_paid"))


async def test_list_pages_newest_first() -> None:
    use_cases, _, _, clock = notifier()
    for key in ("a", "b", "c"):
        await use_cases.send(SERVICE, request(idempotency_key=key))
        clock.now = clock.now.replace(minute=clock.now.minute + 1)

    first = await use_cases.list(ALICE, "u-1", 2, "")
    second = await use_cases.list(ALICE, "u-1", 2, first.next_page_token)

    assert first.total_size == 3 and len(first.notifications) == 2
    assert [n.create_time for n in first.notifications] == sorted(
        (n.create_time for n in first.notifications), reverse=True
    )
    assert len(second.notifications) == 1 and second.next_page_token == ""
    with pytest.raises(InvalidArgumentError):
        await use_cases.list(ALICE, "u-1", 2, "garbage!")


async def test_preferences_default_and_update() -> None:
    use_cases, _, _, _ = notifier()

    assert await use_cases.preferences(BOB, "u-2") == Preferences("u-2")
    with pytest.raises(InvalidArgumentError) as no_phone:
        await use_cases.update_preferences(
            BOB, Preferences("u-2", sms_enabled=True), ["sms_enabled"]
        )
    assert no_phone.value.violations[0].field == "preferences.phone_number"
    updated = await use_cases.update_preferences(
        BOB,
        Preferences("u-2", sms_enabled=True, phone_number="+15551234567"),
        ["sms_enabled", "phone_number"],
    )
    assert updated.sms_enabled and updated.email_enabled
    with pytest.raises(InvalidArgumentError):
        await use_cases.update_preferences(BOB, Preferences("u-2"), ["roles"])


async def test_shoppers_reach_only_their_own_log_and_preferences_and_never_send() -> None:
    use_cases, _, mail, _ = notifier()

    with pytest.raises(PermissionDeniedError):
        await use_cases.send(ALICE, request())
    with pytest.raises(PermissionDeniedError):
        await use_cases.list(BOB, "u-1", 2, "")
    with pytest.raises(PermissionDeniedError):
        await use_cases.preferences(ALICE, "u-2")
    with pytest.raises(PermissionDeniedError):
        await use_cases.update_preferences(ALICE, Preferences("u-2"), ["email_enabled"])
    staff = Identity.from_claims("cs-1", frozenset({rbac.CUSTOMER_SERVICE}), "t")
    assert (await use_cases.list(staff, "u-1", 2, "")).total_size == 0
    assert mail.sent == []


def test_money_is_formatted_for_shoppers() -> None:
    assert format_money("USD", 123_499) == "1,234.99 USD"
    assert format_money("JPY", 1_500) == "1,500 JPY"
    assert format_money("EUR", 5) == "0.05 EUR"


def test_smtp_url_and_message() -> None:
    server = SmtpServer.from_url("smtps://mailer:s%40cret@mail.example:2465")
    assert (server.hostname, server.port, server.use_tls) == ("mail.example", 2465, True)
    assert (server.username, server.password) == ("mailer", "s@cret")
    sender = SmtpSender(
        SmtpServer.from_url("smtp://localhost:10025"), "shop <a@b>", timeout_seconds=1
    )

    composed = sender.compose(
        Email("x@example.com", "Grüße, Zoë", "text ü", "<p>html</p>", "<id@shop>")
    )
    # As a receiver reads it.
    message = email.message_from_bytes(composed.as_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)

    assert (message["Message-ID"], message["To"], message["From"]) == (
        "<id@shop>",
        "x@example.com",
        "shop <a@b>",
    )
    assert message["Subject"] == "Grüße, Zoë"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    assert (plain.get_content(), html.get_content()) == ("text ü", "<p>html</p>")
