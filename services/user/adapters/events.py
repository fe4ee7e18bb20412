"""User events as `shop.events.v1` envelopes, written to the outbox with the change."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import Message
from shop.events.v1 import events_pb2

from mesh.events import Event, Outbox, new_event

from ..domain.model import (
    SignInFailuresDetected,
    SignUpWithExistingEmail,
    UserEvent,
    UserRegistered,
    UserUpdated,
)
from .postgres import Connection

PRODUCER = "user"


def envelope(event: UserEvent) -> Event:
    user = event.user
    payload: Message
    occurred_at: datetime = user.updated_at
    match event:
        case UserRegistered(verification_url=url):
            payload = events_pb2.UserRegistered(
                user_id=user.id,
                email=user.email,
                display_name=user.display_name,
                roles=list(user.roles),
                verification_url=url,
            )
        case UserUpdated():
            payload = events_pb2.UserUpdated(
                user_id=user.id,
                email=user.email,
                display_name=user.display_name,
                roles=list(user.roles),
            )
        case SignUpWithExistingEmail():
            payload = events_pb2.SignUpWithExistingEmail(user_id=user.id, email=user.email)
            occurred_at = event.occurred_at
        case SignInFailuresDetected():
            payload = events_pb2.SignInFailuresDetected(
                user_id=user.id,
                email=user.email,
                failure_count=event.failure_count,
                window_seconds=event.window_seconds,
            )
            occurred_at = event.occurred_at
    return new_event(
        payload,
        aggregate_type="user",
        aggregate_id=user.id,
        aggregate_version=user.version,
        producer=PRODUCER,
        occurred_at=occurred_at,
    )


class OutboxEvents:
    """The store's `RecordEvent`: envelopes the event and adds it to the outbox."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def __call__(self, conn: Connection, event: UserEvent) -> None:
        await self._outbox.add(conn, envelope(event))
