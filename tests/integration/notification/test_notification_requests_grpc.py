"""SendNotification and the preferences over gRPC, on the real stack."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import field_mask_pb2
from shop.notification.v1 import notification_pb2, notification_pb2_grpc
from shop.user.v1 import user_pb2, user_pb2_grpc

from launcher.testing import SmtpCapture

from ..user.harness import ORDER_SECRET, Running
from .event_bus import publisher
from .notification_helpers import (
    Metadata,
    about,
    mail_to,
    order_paid,
    register,
    settled_rows,
)

pytestmark = pytest.mark.integration

Stub = notification_pb2_grpc.NotificationServiceAsyncStub


async def service_token(user_service: Running) -> Metadata:
    users = user_pb2_grpc.UserServiceStub(user_service.channel)
    issued = await users.IssueServiceToken(
        user_pb2.IssueServiceTokenRequest(client_id="order", client_secret=ORDER_SECRET)
    )
    return (("authorization", f"Bearer {issued.access_token}"),)


def send_request(user_id: str, key: str) -> notification_pb2.SendNotificationRequest:
    return notification_pb2.SendNotificationRequest(
        user_id=user_id,
        channel=notification_pb2.CHANNEL_EMAIL,
        template="payment_refunded",
        variables={
            "order_id": "ord-direct",
            "amount": "5.00 USD",
            "refunded_total": "5.00 USD",
            "reason": "goodwill",
        },
        idempotency_key=key,
    )


async def test_send_notification_is_idempotent_and_internal(
    user_service: Running, notification_service: Running, smtp_capture: SmtpCapture
) -> None:
    user_id, email, customer = await register(user_service)
    stub: Stub = notification_pb2_grpc.NotificationServiceStub(notification_service.channel)
    token = await service_token(user_service)

    first = await stub.SendNotification(send_request(user_id, "refund-1"), metadata=token)
    again = await stub.SendNotification(send_request(user_id, "refund-1"), metadata=token)

    assert first.status == notification_pb2.DELIVERY_STATUS_SENT and first.id == again.id
    assert first.recipient == email and first.subject == "Refund of 5.00 USD for order ord-direct"
    await mail_to(smtp_capture.mailbox, email, lambda m: "ord-direct" in str(m["Subject"]))
    await asyncio.sleep(0.5)
    assert (
        len([m for m in smtp_capture.mailbox.to(email) if "ord-direct" in str(m["Subject"])]) == 1
    )
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stub.SendNotification(send_request(user_id, "refund-2"), metadata=customer)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        request = send_request(user_id, "refund-3")
        request.template = "no_such_template"
        await stub.SendNotification(request, metadata=token)
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_preferences_are_respected(
    user_service: Running,
    notification_service: Running,
    notification_database: str,
    smtp_capture: SmtpCapture,
    kafka_bootstrap: str,
) -> None:
    user_id, email, token = await register(user_service)
    stub: Stub = notification_pb2_grpc.NotificationServiceStub(notification_service.channel)
    defaults = await stub.GetPreferences(
        notification_pb2.GetPreferencesRequest(user_id=user_id), metadata=token
    )
    assert (defaults.email_enabled, defaults.sms_enabled) == (True, False)

    with pytest.raises(grpc.aio.AioRpcError) as no_phone:
        await stub.UpdatePreferences(
            notification_pb2.UpdatePreferencesRequest(
                preferences=notification_pb2.Preferences(user_id=user_id, sms_enabled=True),
                update_mask=field_mask_pb2.FieldMask(paths=["sms_enabled"]),
            ),
            metadata=token,
        )
    assert no_phone.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    updated = await stub.UpdatePreferences(
        notification_pb2.UpdatePreferencesRequest(
            preferences=notification_pb2.Preferences(
                user_id=user_id, email_enabled=False, sms_enabled=True, phone_number="+15551234567"
            )
        ),
        metadata=token,
    )
    assert (updated.email_enabled, updated.sms_enabled) == (False, True)

    paid = order_paid(user_id)
    async with publisher(kafka_bootstrap) as events:
        await events.publish(paid)
    rows = await settled_rows(notification_database, user_id, 2, event_id=paid.event_id)
    by_channel = {r["channel"]: r for r in rows}
    assert by_channel["email"]["status"] == "skipped"
    assert by_channel["sms"]["status"] == "sent"
    assert by_channel["sms"]["recipient"] == "+15551234567"
    assert not [m for m in smtp_capture.mailbox.to(email) if about(paid.order_paid.order.id)(m)]
