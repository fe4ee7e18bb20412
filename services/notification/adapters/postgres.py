"""The notification store on PostgreSQL (asyncpg); every write commits by itself."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import asyncpg

from ..domain.model import (
    Channel,
    Contact,
    Notification,
    Preferences,
    Status,
)
from ..service_layer.ports import NotificationStore, Page

_COLUMNS: Final = (
    "id, dedupe_key, user_id, channel, template, recipient, subject, status, attempts, error, "
    "event_id, message_id, create_time, attempt_started_at, send_time"
)


class PostgresNotificationStore(NotificationStore):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get_contact(self, user_id: str) -> Contact | None:
        row = await self._pool.fetchrow(
            "SELECT user_id, email, display_name, version FROM contacts WHERE user_id = $1",
            user_id,
        )
        return None if row is None else Contact(**dict(row))

    async def save_contact(self, contact: Contact) -> bool:
        stored = await self._pool.fetchval(
            "INSERT INTO contacts (user_id, email, display_name, version) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE "
            "SET email = EXCLUDED.email, display_name = EXCLUDED.display_name, "
            "    version = EXCLUDED.version, update_time = now() "
            "WHERE contacts.version < EXCLUDED.version RETURNING 1",
            contact.user_id,
            contact.email,
            contact.display_name,
            contact.version,
        )
        return stored is not None

    async def get_preferences(self, user_id: str) -> Preferences | None:
        row = await self._pool.fetchrow(
            "SELECT user_id, email_enabled, sms_enabled, phone_number, update_time "
            "FROM preferences WHERE user_id = $1",
            user_id,
        )
        return None if row is None else Preferences(**dict(row))

    async def save_preferences(self, preferences: Preferences) -> Preferences:
        row = await self._pool.fetchrow(
            "INSERT INTO preferences (user_id, email_enabled, sms_enabled, phone_number) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE "
            "SET email_enabled = EXCLUDED.email_enabled, sms_enabled = EXCLUDED.sms_enabled, "
            "    phone_number = EXCLUDED.phone_number, update_time = now() "
            "RETURNING user_id, email_enabled, sms_enabled, phone_number, update_time",
            preferences.user_id,
            preferences.email_enabled,
            preferences.sms_enabled,
            preferences.phone_number,
        )
        assert row is not None
        return Preferences(**dict(row))

    async def claim(self, notification: Notification) -> Notification:
        n = notification
        row = await self._pool.fetchrow(
            f"INSERT INTO notifications ({_COLUMNS}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
            f"ON CONFLICT (dedupe_key) DO NOTHING RETURNING {_COLUMNS}",
            uuid.UUID(n.id),
            n.dedupe_key,
            n.user_id,
            n.channel.value,
            n.template,
            n.recipient,
            n.subject,
            n.status.value,
            n.attempts,
            n.error,
            n.event_id,
            n.message_id,
            n.create_time,
            n.attempt_started_at,
            n.send_time,
        )
        if row is None:
            row = await self._pool.fetchrow(
                f"SELECT {_COLUMNS} FROM notifications WHERE dedupe_key = $1", n.dedupe_key
            )
        return _notification(row)

    async def begin_attempt(
        self, notification_id: str, lease_seconds: float
    ) -> Notification | None:
        row = await self._pool.fetchrow(
            "UPDATE notifications SET status = 'sending', attempts = attempts + 1, "
            "    attempt_started_at = now() "
            "WHERE id = $1 AND (status = 'pending' OR (status = 'sending' "
            "    AND attempt_started_at < now() - make_interval(secs => $2))) "
            f"RETURNING {_COLUMNS}",
            uuid.UUID(notification_id),
            lease_seconds,
        )
        return None if row is None else _notification(row)

    async def finish_attempt(self, notification_id: str, status: str, error: str) -> Notification:
        row = await self._pool.fetchrow(
            "UPDATE notifications SET status = $2, error = $3, "
            "    send_time = CASE WHEN $2 = 'sent' THEN now() END "
            f"WHERE id = $1 RETURNING {_COLUMNS}",
            uuid.UUID(notification_id),
            status,
            error,
        )
        return _notification(row)

    async def get(self, notification_id: str) -> Notification | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM notifications WHERE id = $1", uuid.UUID(notification_id)
        )
        return None if row is None else _notification(row)

    async def list_for_user(
        self, user_id: str, page_size: int, after: tuple[datetime, str] | None
    ) -> Page:
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            total = await conn.fetchval(
                "SELECT count(*) FROM notifications WHERE user_id = $1", user_id
            )
            if after is None:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM notifications WHERE user_id = $1 "
                    "ORDER BY create_time DESC, id DESC LIMIT $2",
                    user_id,
                    page_size + 1,
                )
            else:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM notifications WHERE user_id = $1 "
                    "AND (create_time, id) < ($2, $3) "
                    "ORDER BY create_time DESC, id DESC LIMIT $4",
                    user_id,
                    after[0],
                    uuid.UUID(after[1]),
                    page_size + 1,
                )
        notifications = [_notification(row) for row in rows[:page_size]]
        last = notifications[-1] if len(rows) > page_size else None
        return Page(
            notifications,
            int(total),
            None if last is None else (last.create_time, last.id),
        )


def _notification(row: Any) -> Notification:
    return Notification(
        id=str(row["id"]),
        dedupe_key=row["dedupe_key"],
        user_id=row["user_id"],
        channel=Channel(row["channel"]),
        template=row["template"],
        recipient=row["recipient"],
        subject=row["subject"],
        status=Status(row["status"]),
        attempts=row["attempts"],
        error=row["error"],
        event_id=row["event_id"],
        message_id=row["message_id"],
        create_time=row["create_time"],
        attempt_started_at=row["attempt_started_at"],
        send_time=row["send_time"],
    )
