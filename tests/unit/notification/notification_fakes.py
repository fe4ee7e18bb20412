"""In-memory stand-ins for the notification store, the mail server and the clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.notification.domain.delivery import PermanentDeliveryError, TransientDeliveryError
from services.notification.domain.model import Contact, Notification, Preferences, Status
from services.notification.service_layer.ports import Email, NotificationStore, Page


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


class FakeStore(NotificationStore):
    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.contacts: dict[str, Contact] = {}
        self.preferences: dict[str, Preferences] = {}
        self.rows: dict[str, Notification] = {}

    async def get_contact(self, user_id: str) -> Contact | None:
        return self.contacts.get(user_id)

    async def save_contact(self, contact: Contact) -> bool:
        stored = self.contacts.get(contact.user_id)
        if stored is not None and stored.version >= contact.version:
            return False
        self.contacts[contact.user_id] = contact
        return True

    async def get_preferences(self, user_id: str) -> Preferences | None:
        return self.preferences.get(user_id)

    async def save_preferences(self, preferences: Preferences) -> Preferences:
        saved = replace(preferences, update_time=self._clock())
        self.preferences[preferences.user_id] = saved
        return saved

    async def claim(self, notification: Notification) -> Notification:
        for row in self.rows.values():
            if row.dedupe_key == notification.dedupe_key:
                return row
        self.rows[notification.id] = notification
        return notification

    async def begin_attempt(
        self, notification_id: str, lease_seconds: float
    ) -> Notification | None:
        row = self.rows[notification_id]
        stale = (
            row.status is Status.SENDING
            and row.attempt_started_at is not None
            and row.attempt_started_at < self._clock() - timedelta(seconds=lease_seconds)
        )
        if row.status is not Status.PENDING and not stale:
            return None
        row = replace(
            row, status=Status.SENDING, attempts=row.attempts + 1, attempt_started_at=self._clock()
        )
        self.rows[notification_id] = row
        return row

    async def finish_attempt(self, notification_id: str, status: str, error: str) -> Notification:
        row = replace(
            self.rows[notification_id],
            status=Status(status),
            error=error,
            send_time=self._clock() if status == Status.SENT else None,
        )
        self.rows[notification_id] = row
        return row

    async def get(self, notification_id: str) -> Notification | None:
        return self.rows.get(notification_id)

    async def list_for_user(
        self, user_id: str, page_size: int, after: tuple[datetime, str] | None
    ) -> Page:
        mine = sorted(
            (row for row in self.rows.values() if row.user_id == user_id),
            key=lambda row: (row.create_time, row.id),
            reverse=True,
        )
        if after is not None:
            mine = [row for row in mine if (row.create_time, row.id) < after]
        page = mine[:page_size]
        more = len(mine) > page_size
        total = sum(1 for row in self.rows.values() if row.user_id == user_id)
        return Page(page, total, (page[-1].create_time, page[-1].id) if more else None)


class FakeMail:
    """Accepts mail, after `failures` transient errors (or refuses it for good)."""

    def __init__(self, failures: int = 0, *, permanent: bool = False) -> None:
        self.failures = failures
        self.permanent = permanent
        self.sent: list[Email] = []
        self.attempts = 0

    async def send(self, email: Email) -> None:
        self.attempts += 1
        if self.permanent:
            raise PermanentDeliveryError("550 mailbox unavailable")
        if self.failures > 0:
            self.failures -= 1
            raise TransientDeliveryError("ConnectionRefusedError: connection refused")
        self.sent.append(email)


class FakeDirectory:
    def __init__(self, *contacts: Contact) -> None:
        self.contacts = {contact.user_id: contact for contact in contacts}
        self.lookups: list[str] = []

    async def lookup(self, user_id: str) -> Contact | None:
        self.lookups.append(user_id)
        return self.contacts.get(user_id)
