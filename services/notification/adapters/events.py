"""Domain events from Kafka -> the notification use cases: which events a shopper hears
about, through which channels, with which template."""

from __future__ import annotations

from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.order.v1 import order_pb2

from mesh.money import to_minor_units

from ..domain.model import Contact
from ..domain.money import format_money
from ..domain.reactions import EMAIL_AND_SMS, EMAIL_ONLY, Reaction
from ..service_layer.notifications import Notifier


class EventHandler:
    """The consumer's handler: sends what each event calls for, once per event and channel."""

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    async def __call__(self, event: events_pb2.Event) -> None:
        if event.WhichOneof("payload") == "user_updated":
            await self._notifier.contact_changed(event.event_id, contact_from_update(event))
            return
        reaction = reaction_to(event)
        if reaction is not None:
            await self._notifier.react(event.event_id, reaction)


def reaction_to(event: events_pb2.Event) -> Reaction | None:
    """The message an event calls for; None for events shoppers are not told about."""
    kind = event.WhichOneof("payload")
    if kind == "user_registered":
        user = event.user_registered
        contact = Contact(user.user_id, user.email, user.display_name, event.aggregate_version)
        variables: dict[str, object] = {
            "email": user.email,
            "verification_url": user.verification_url,
        }
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
