"""NotificationService over gRPC: proto in, use case, proto out."""

from __future__ import annotations

from typing import Any

from grpc import aio
from shop.notification.v1 import notification_pb2, notification_pb2_grpc

from mesh.auth.identity import current_identity

from .adapters.protos import (
    CHANNELS,
    notification_to_proto,
    preferences_from_proto,
    preferences_to_proto,
)
from .service_layer.notifications import Notifier, SendRequest

Context = aio.ServicerContext[Any, Any]


class NotificationServicer(notification_pb2_grpc.NotificationServiceServicer):
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    async def SendNotification(
        self, request: notification_pb2.SendNotificationRequest, context: Context
    ) -> notification_pb2.Notification:
        sent = await self._notifier.send(
            current_identity(),
            SendRequest(
                user_id=request.user_id,
                channel=CHANNELS[request.channel],
                template=request.template,
                variables=dict(request.variables),
                recipient=request.recipient,
                idempotency_key=request.idempotency_key,
            ),
        )
        return notification_to_proto(sent)

    async def ListNotifications(
        self, request: notification_pb2.ListNotificationsRequest, context: Context
    ) -> notification_pb2.ListNotificationsResponse:
        page = await self._notifier.list(
            current_identity(), request.user_id, request.page_size, request.page_token
        )
        return notification_pb2.ListNotificationsResponse(
            notifications=[notification_to_proto(n) for n in page.notifications],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetPreferences(
        self, request: notification_pb2.GetPreferencesRequest, context: Context
    ) -> notification_pb2.Preferences:
        preferences = await self._notifier.preferences(current_identity(), request.user_id)
        return preferences_to_proto(preferences)

    async def UpdatePreferences(
        self, request: notification_pb2.UpdatePreferencesRequest, context: Context
    ) -> notification_pb2.Preferences:
        updated = await self._notifier.update_preferences(
            current_identity(),
            preferences_from_proto(request.preferences),
            list(request.update_mask.paths),
        )
        return preferences_to_proto(updated)
