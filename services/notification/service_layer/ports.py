"""What the notification use cases need from the outside: the store, the mail and SMS
transports, the templates and the user directory.

`adapters.postgres`, `adapters.mail`, `adapters.sms`, `adapters.templates` and
`adapters.directory` implement them; unit tests use fakes.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..domain.model import Channel, Contact, Notification, Preferences


@dataclass(frozen=True, slots=True)
class Page:
    notifications: list[Notification]
    total_size: int
    # (create_time, id) of the last entry when there are more.
    next_cursor: tuple[datetime, str] | None


class NotificationStore(abc.ABC):
    """Contacts, preferences and the delivery log.

    Every method commits on its own (no caller transaction): a delivery attempt must be on
    record BEFORE the message leaves, whatever happens to the event being handled.
    """

    @abc.abstractmethod
    async def get_contact(self, user_id: str) -> Contact | None: ...

    @abc.abstractmethod
    async def save_contact(self, contact: Contact) -> bool:
        """Stores it unless a version at least as new is stored; True when it was stored."""

    @abc.abstractmethod
    async def get_preferences(self, user_id: str) -> Preferences | None: ...

    @abc.abstractmethod
    async def save_preferences(self, preferences: Preferences) -> Preferences: ...

    @abc.abstractmethod
    async def claim(self, notification: Notification) -> Notification:
        """Inserts `notification` unless its dedupe key exists; returns the stored row."""

    @abc.abstractmethod
    async def begin_attempt(
        self, notification_id: str, lease_seconds: float
    ) -> Notification | None:
        """PENDING (or SENDING older than the lease) -> SENDING with attempts + 1, committed;
        None when the row is final or another sender's attempt is still fresh."""

    @abc.abstractmethod
    async def finish_attempt(self, notification_id: str, status: str, error: str) -> Notification:
        """Records the outcome of the attempt under way (SENT sets send_time)."""

    @abc.abstractmethod
    async def get(self, notification_id: str) -> Notification | None: ...

    @abc.abstractmethod
    async def list_for_user(
        self, user_id: str, page_size: int, after: tuple[datetime, str] | None
    ) -> Page: ...


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    message_id: str


class EmailSender(Protocol):
    async def send(self, email: Email) -> None:
        """Returns once the server accepted the message; raises Transient/PermanentDeliveryError."""
        ...


@dataclass(frozen=True, slots=True)
class TextMessage:
    to: str
    text: str
    message_id: str


class SmsProvider(Protocol):
    async def send(self, message: TextMessage) -> None:
        """Returns once the provider accepted it; raises Transient/PermanentDeliveryError."""
        ...


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str = ""


class UnknownTemplateError(LookupError):
    pass


class MissingVariableError(ValueError):
    pass


class Templates(Protocol):
    def render(self, template: str, channel: Channel, variables: Mapping[str, object]) -> Rendered:
        """Raises UnknownTemplateError or MissingVariableError."""
        ...


class UserDirectory(Protocol):
    async def lookup(self, user_id: str) -> Contact | None:
        """The user's contact, None if there is no such user."""
        ...
