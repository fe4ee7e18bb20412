"""Which events a shopper hears about, through which channels, with which template."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.order.v1 import order_pb2

from mesh.money import to_minor_units
from services.notification.domain.model import Channel, Contact
from services.notification.domain.money import format_money

EMAIL_ONLY = (Channel.EMAIL,)
EMAIL_AND_SMS = (Channel.EMAIL, Channel.SMS)


@dataclass(frozen=True, slots=True)
class Reaction:
    user_id: str
    template: str
    variables: Mapping[str, object]
    channels: tuple[Channel, ...]
    # Sends the email to this address instead of the user's current one.
    email_to: str = ""
    # Contact data carried by the event itself (UserRegistered), ahead of the stored one.
    contact: Contact | None = field(default=None)


def reaction_to(event: events_pb2.Event) -> Reaction | None:
    """The message an event calls for; None for events shoppers are not told about."""
    kind = event.WhichOneof("payload")
    if kind == "user_registered":
        user = event.user_registered
        contact = Contact(user.user_id, user.email, user.display_name, event.aggregate_version)
        variables = {"email": user.email, "verification_url": user.verification_url}
        return Reaction(user.user_id, "welcome", variables, EMAIL_ONLY, contact=contact)
    if kind == "sign_up_with_existing_email":
        attempt = event.sign_up_with_existing_email
        return Reaction(
            attempt.user_id,
            "sign_up_existing",
            {"email": attempt.email},
            EMAIL_ONLY,
            email_to=attempt.email,
        )
    if kind == "sign_in_failures_detected":
        failures = event.sign_in_failures_detected
        variables = {
            "email": failures.email,
            "failure_count": failures.failure_count,
            "window_minutes": max(1, failures.window_seconds // 60),
        }
        return Reaction(
            failures.user_id, "sign_in_failures", variables, EMAIL_ONLY, email_to=failures.email
        )
    if kind == "order_paid":
        order = event.order_paid.order
        return Reaction(order.user_id, "order_paid", order_variables(order), EMAIL_AND_SMS)
    if kind == "order_payment_failed":
        order = event.order_payment_failed.order
        return Reaction(
            order.user_id, "order_payment_failed", order_variables(order), EMAIL_AND_SMS
        )
    if kind == "order_cancelled":
        cancelled = event.order_cancelled
        variables = {
            **order_variables(cancelled.order),
            "reason": cancelled.reason or cancelled.order.failure_reason,
            "refunded": cancelled.refunded,
        }
        return Reaction(cancelled.order.user_id, "order_cancelled", variables, EMAIL_AND_SMS)
    if kind == "payment_refunded":
        payment, refund = event.payment_refunded.payment, event.payment_refunded.refund
        variables = {
            "order_id": payment.order_id,
            "amount": money_text(refund.amount),
            "refunded_total": money_text(payment.refunded_amount),
            "reason": refund.reason,
        }
        return Reaction(payment.user_id, "payment_refunded", variables, EMAIL_ONLY)
    return None


def reaction_to_user_update(before: Contact | None, event: events_pb2.Event) -> Reaction | None:
    """A changed email address is announced to the OLD address (an account takeover shows)."""
    update = event.user_updated
    if before is None or not before.email or before.email.lower() == update.email.lower():
        return None
    variables = {"old_email": before.email, "new_email": update.email}
    return Reaction(update.user_id, "email_changed", variables, EMAIL_ONLY, email_to=before.email)


def contact_from_update(event: events_pb2.Event) -> Contact:
    update = event.user_updated
    return Contact(update.user_id, update.email, update.display_name, event.aggregate_version)


def order_variables(order: order_pb2.Order) -> dict[str, object]:
    return {
        "order_id": order.id,
        "total": money_text(order.total),
        "subtotal": money_text(order.subtotal),
        "shipping": money_text(order.shipping),
        "tax": money_text(order.tax),
        "failure_reason": order.failure_reason,
        "items": [
            {
                "name": item.name or item.product_id,
                "quantity": item.quantity,
                "line_total": money_text(item.line_total),
            }
            for item in order.items
        ],
    }


def money_text(money: common_pb2.Money) -> str:
    if not money.currency_code:
        return ""
    amount = to_minor_units(money, "amount")
    return format_money(amount.currency, amount.amount)
