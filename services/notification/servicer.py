"""NotificationService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any, Final

from google.protobuf import timestamp_pb2
from grpc import aio
from shop.notification.v1 import notification_pb2, notification_pb2_grpc

from mesh import rbac
from mesh.auth.identity import current_identity, require_self_or_permission
from mesh.errors import PermissionDeniedError
from services.notification.domain.model import Channel, Notification, Preferences, Status
from services.notification.notifier import Notifier, SendRequest

Context = aio.ServicerContext[Any, Any]

_CHANNELS: Final = {
    notification_pb2.CHANNEL_EMAIL: Channel.EMAIL,
    notification_pb2.CHANNEL_SMS: Channel.SMS,
}
_CHANNEL_MESSAGES: Final = {channel: value for value, channel in _CHANNELS.items()}
_STATUSES: Final = {
    Status.PENDING: notification_pb2.DELIVERY_STATUS_PENDING,
    # An attempt under way is still "queued or being retried" for the reader.
    Status.SENDING: notification_pb2.DELIVERY_STATUS_PENDING,
    Status.SENT: notification_pb2.DELIVERY_STATUS_SENT,
    Status.FAILED: notification_pb2.DELIVERY_STATUS_FAILED,
    Status.SKIPPED: notification_pb2.DELIVERY_STATUS_SKIPPED,
}


class NotificationServicer(notification_pb2_grpc.NotificationServiceServicer):
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    async def SendNotification(
        self, request: notification_pb2.SendNotificationRequest, context: Context
    ) -> notification_pb2.Notification:
        _require_internal_caller()
        sent = await self._notifier.send(
            SendRequest(
                user_id=request.user_id,
                channel=_CHANNELS[request.channel],
                template=request.template,
                variables=dict(request.variables),
                recipient=request.recipient,
                idempotency_key=request.idempotency_key,
            )
        )
        return notification_message(sent)

    async def ListNotifications(
        self, request: notification_pb2.ListNotificationsRequest, context: Context
    ) -> notification_pb2.ListNotificationsResponse:
        require_self_or_permission(request.user_id, rbac.USERS_READ)
        page = await self._notifier.list(request.user_id, request.page_size, request.page_token)
        return notification_pb2.ListNotificationsResponse(
            notifications=[notification_message(n) for n in page.notifications],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetPreferences(
        self, request: notification_pb2.GetPreferencesRequest, context: Context
    ) -> notification_pb2.Preferences:
        require_self_or_permission(request.user_id, rbac.USERS_READ)
        return preferences_message(await self._notifier.preferences(request.user_id))

    async def UpdatePreferences(
        self, request: notification_pb2.UpdatePreferencesRequest, context: Context
    ) -> notification_pb2.Preferences:
        wanted = request.preferences
        require_self_or_permission(wanted.user_id, rbac.USERS_WRITE)
        updated = await self._notifier.update_preferences(
            Preferences(
                user_id=wanted.user_id,
                email_enabled=wanted.email_enabled,
                sms_enabled=wanted.sms_enabled,
                phone_number=wanted.phone_number,
            ),
            list(request.update_mask.paths),
        )
        return preferences_message(updated)


def _require_internal_caller() -> None:
    """Sends are for other services (and admins trying a template), not for shoppers."""
    identity = current_identity()
    if not (identity.is_service or identity.has_permission(rbac.USERS_WRITE)):
        raise PermissionDeniedError("only services and staff may send notifications")


def notification_message(notification: Notification) -> notification_pb2.Notification:
    message = notification_pb2.Notification(
        id=notification.id,
        user_id=notification.user_id,
        channel=_CHANNEL_MESSAGES[notification.channel],
        template=notification.template,
        recipient=notification.recipient,
        subject=notification.subject,
        status=_STATUSES[notification.status],
        attempts=notification.attempts,
        error=notification.error,
        event_id=notification.event_id,
        create_time=_timestamp(notification.create_time),
    )
    if notification.send_time is not None and notification.status is Status.SENT:
        message.send_time.CopyFrom(_timestamp(notification.send_time))
    return message


def preferences_message(preferences: Preferences) -> notification_pb2.Preferences:
    message = notification_pb2.Preferences(
        user_id=preferences.user_id,
        email_enabled=preferences.email_enabled,
        sms_enabled=preferences.sms_enabled,
        phone_number=preferences.phone_number,
    )
    if preferences.update_time is not None:
        message.update_time.CopyFrom(_timestamp(preferences.update_time))
    return message


def _timestamp(when: Any) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when)
    return stamp
