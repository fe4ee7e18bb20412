"""Proto messages <-> the notification service's domain objects."""

from __future__ import annotations

from typing import Final

from shop.notification.v1 import notification_pb2

from mesh.clock import to_timestamp

from ..domain.model import Channel, Notification, Preferences, Status

CHANNELS: Final = {
    notification_pb2.CHANNEL_EMAIL: Channel.EMAIL,
    notification_pb2.CHANNEL_SMS: Channel.SMS,
}
_CHANNEL_MESSAGES: Final = {channel: value for value, channel in CHANNELS.items()}
_STATUSES: Final = {
    Status.PENDING: notification_pb2.DELIVERY_STATUS_PENDING,
    # An attempt under way is still "queued or being retried" for the reader.
    Status.SENDING: notification_pb2.DELIVERY_STATUS_PENDING,
    Status.SENT: notification_pb2.DELIVERY_STATUS_SENT,
    Status.FAILED: notification_pb2.DELIVERY_STATUS_FAILED,
    Status.SKIPPED: notification_pb2.DELIVERY_STATUS_SKIPPED,
}


def notification_to_proto(notification: Notification) -> notification_pb2.Notification:
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
        create_time=to_timestamp(notification.create_time),
    )
    if notification.send_time is not None and notification.status is Status.SENT:
        message.send_time.CopyFrom(to_timestamp(notification.send_time))
    return message


def preferences_from_proto(message: notification_pb2.Preferences) -> Preferences:
    return Preferences(
        user_id=message.user_id,
        email_enabled=message.email_enabled,
        sms_enabled=message.sms_enabled,
        phone_number=message.phone_number,
    )


def preferences_to_proto(preferences: Preferences) -> notification_pb2.Preferences:
    message = notification_pb2.Preferences(
        user_id=preferences.user_id,
        email_enabled=preferences.email_enabled,
        sms_enabled=preferences.sms_enabled,
        phone_number=preferences.phone_number,
    )
    if preferences.update_time is not None:
        message.update_time.CopyFrom(to_timestamp(preferences.update_time))
    return message
