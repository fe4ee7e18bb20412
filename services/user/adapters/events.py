"""User events as `shop.events.v1` envelopes, written to the outbox with the change."""

from __future__ import annotations

from shop.events.v1 import events_pb2

from mesh.events import Event, Outbox, new_event

from ..domain.model import UserEvent, UserRegistered
from .postgres import Connection

PRODUCER = "user"


def envelope(event: UserEvent) -> Event:
    user = event.user
    registered = isinstance(event, UserRegistered)
    kind = events_pb2.UserRegistered if registered else events_pb2.UserUpdated
    payload = kind(
        user_id=user.id, email=user.email, display_name=user.display_name, roles=list(user.roles)
    )
    return new_event(
        payload,
        aggregate_type="user",
        aggregate_id=user.id,
        aggregate_version=user.version,
        producer=PRODUCER,
        occurred_at=user.updated_at,
    )


class OutboxEvents:
    """The store's `RecordEvent`: envelopes the event and adds it to the outbox."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def __call__(self, conn: Connection, event: UserEvent) -> None:
        await self._outbox.add(conn, envelope(event))
