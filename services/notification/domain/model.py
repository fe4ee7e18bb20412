"""Contacts, preferences and the delivery log entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Status(StrEnum):
    PENDING = "pending"
    # An attempt is under way: committed before the message is handed to the server, so a
    # redelivery can tell "never tried" from "interrupted while handing over".
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def is_final(self) -> bool:
        return self in (Status.SENT, Status.FAILED, Status.SKIPPED)


@dataclass(frozen=True, slots=True)
class Contact:
    """A user's address book entry, kept from UserRegistered/UserUpdated events."""

    user_id: str
    email: str
    display_name: str
    version: int


@dataclass(frozen=True, slots=True)
class Preferences:
    user_id: str
    email_enabled: bool = True
    sms_enabled: bool = False
    phone_number: str = ""
    update_time: datetime | None = None

    def allows(self, channel: Channel) -> bool:
        if channel is Channel.EMAIL:
            return self.email_enabled
        return self.sms_enabled and bool(self.phone_number)


@dataclass(frozen=True, slots=True)
class Notification:
    """An entry of the delivery log."""

    id: str
    dedupe_key: str
    user_id: str
    channel: Channel
    template: str
    recipient: str
    subject: str
    status: Status
    attempts: int
    error: str
    event_id: str
    # Stable across attempts, so a resend after an interrupted attempt can be recognised.
    message_id: str
    create_time: datetime
    attempt_started_at: datetime | None = None
    send_time: datetime | None = None
