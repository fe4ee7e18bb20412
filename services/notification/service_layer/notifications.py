"""The notification use cases: reacting to events, direct sends, the log and preferences.

The caller's permission is checked here: shoppers reach their own log and preferences, staff
and services by permission; direct sends are for services and staff only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

from mesh import rbac
from mesh.auth.identity import Identity, require_self_or_permission
from mesh.errors import (
    AbortedError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    PermissionDeniedError,
    PreconditionViolation,
)
from mesh.pagination import INSTANT_AND_ID, InstantAndId

from ..domain.delivery import (
    DeliveryFailedError,
    DeliveryInProgressError,
    UnknownRecipientError,
)
from ..domain.model import Channel, Contact, Notification, Preferences
from ..domain.reactions import Reaction, reaction_to_contact_change
from .delivery import Deliverer
from .ports import (
    MissingVariableError,
    NotificationStore,
    Rendered,
    Templates,
    UnknownTemplateError,
    UserDirectory,
)

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE: Final = 20
PREFERENCE_FIELDS: Final = ("email_enabled", "sms_enabled", "phone_number")
_PHONE: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass(frozen=True, slots=True)
class SendRequest:
    user_id: str
    channel: Channel
    template: str
    variables: Mapping[str, str]
    recipient: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class NotificationPage:
    notifications: list[Notification]
    next_page_token: str
    total_size: int


class Notifier:
    def __init__(
        self,
        store: NotificationStore,
        deliverer: Deliverer,
        templates: Templates,
        directory: UserDirectory | None = None,
    ) -> None:
        self._store = store
        self._deliverer = deliverer
        self._templates = templates
        self._directory = directory

    # --- events -------------------------------------------------------------------------

    async def react(self, event_id: str, reaction: Reaction) -> None:
        """Sends what an event calls for, once per event and channel."""
        if reaction.contact is not None:
            await self._store.save_contact(reaction.contact)
        await self._react(event_id, reaction)

    async def contact_changed(self, event_id: str, contact: Contact) -> None:
        before = await self._store.get_contact(contact.user_id)
        if before is not None and before.version >= contact.version:
            return  # stale or replayed
        reaction = reaction_to_contact_change(before, contact)
        # Announce first, then store the new address: a redelivery after a crash in between
        # still sees the old address and finds the announcement already in the log.
        if reaction is not None:
            await self._react(event_id, reaction)
        await self._store.save_contact(contact)

    async def _react(self, event_id: str, reaction: Reaction) -> None:
        contact = reaction.contact or await self._contact(reaction.user_id)
        if contact is None:
            raise UnknownRecipientError(f"no contact for user {reaction.user_id}")
        preferences = await self._preferences(reaction.user_id)
        variables = {"display_name": contact.display_name, **reaction.variables}
        failures: list[DeliveryFailedError] = []
        for channel in reaction.channels:
            # SMS is opt-in: nothing is logged for shoppers who never turned it on.
            if channel is Channel.SMS and not preferences.allows(Channel.SMS):
                continue
            recipient = (
                reaction.email_to or contact.email
                if channel is Channel.EMAIL
                else preferences.phone_number
            )
            content = self._templates.render(reaction.template, channel, variables)
            entry = self._deliverer.new_entry(
                dedupe_key=f"{event_id}:{channel}",
                user_id=reaction.user_id,
                channel=channel,
                template=reaction.template,
                recipient=recipient,
                subject=content.subject,
                event_id=event_id,
                skipped_because=_skip_reason(preferences, channel)
                or ("" if recipient else f"no {channel} address known for the user"),
            )
            try:
                await self._deliverer.deliver(entry, content, wait_for_other_sender=True)
            except DeliveryFailedError as error:
                failures.append(error)
        if failures:
            raise failures[0]

    # --- direct sends -------------------------------------------------------------------

    async def send(self, caller: Identity, request: SendRequest) -> Notification:
        # Sends are for other services (and admins trying a template), not for shoppers.
        if not (caller.is_service or caller.has_permission(rbac.USERS_WRITE)):
            raise PermissionDeniedError("only services and staff may send notifications")
        contact = await self._contact(request.user_id)
        preferences = await self._preferences(request.user_id)
        recipient = request.recipient or _own_address(request.channel, contact, preferences)
        _check_recipient(request.channel, recipient)
        variables = {"display_name": contact.display_name if contact else "", **request.variables}
        content = self._render(request.template, request.channel, variables)
        entry = self._deliverer.new_entry(
            dedupe_key=f"request:{request.idempotency_key}:{request.channel}",
            user_id=request.user_id,
            channel=request.channel,
            template=request.template,
            recipient=recipient,
            subject=content.subject,
            event_id="",
            skipped_because=_skip_reason(preferences, request.channel),
        )
        try:
            return await self._deliverer.deliver(entry, content, wait_for_other_sender=False)
        except DeliveryFailedError as error:
            failed = await self._store.get(error.notification_id)
            assert failed is not None
            return failed
        except DeliveryInProgressError:
            raise AbortedError(
                "this notification is being sent by another request",
                reason="NOTIFICATION_IN_PROGRESS",
            ) from None

    def _render(self, template: str, channel: Channel, variables: Mapping[str, object]) -> Rendered:
        try:
            return self._templates.render(template, channel, variables)
        except UnknownTemplateError:
            raise InvalidArgumentError(
                "unknown template",
                violations=[FieldViolation("template", f"no {channel} template named {template}")],
            ) from None
        except MissingVariableError as error:
            raise InvalidArgumentError(
                "missing template variable",
                violations=[FieldViolation("variables", str(error))],
            ) from None

    # --- log and preferences ------------------------------------------------------------

    async def list(
        self, caller: Identity, user_id: str, page_size: int, page_token: str
    ) -> NotificationPage:
        require_self_or_permission(user_id, rbac.USERS_READ, caller)
        position = INSTANT_AND_ID.decode(page_token, query=user_id)
        after = None if position is None else (position.at, position.id)
        page = await self._store.list_for_user(user_id, page_size or DEFAULT_PAGE_SIZE, after)
        last = None if page.next_cursor is None else InstantAndId(*page.next_cursor)
        token = INSTANT_AND_ID.encode(last, query=user_id)
        return NotificationPage(page.notifications, token, page.total_size)

    async def preferences(self, caller: Identity, user_id: str) -> Preferences:
        require_self_or_permission(user_id, rbac.USERS_READ, caller)
        return await self._preferences(user_id)

    async def update_preferences(
        self, caller: Identity, wanted: Preferences, paths: Sequence[str]
    ) -> Preferences:
        require_self_or_permission(wanted.user_id, rbac.USERS_WRITE, caller)
        unknown = [path for path in paths if path not in PREFERENCE_FIELDS]
        if unknown:
            raise InvalidArgumentError(
                "unknown field in update_mask",
                violations=[
                    FieldViolation("update_mask", f"{path} cannot be updated") for path in unknown
                ],
            )
        current = await self._preferences(wanted.user_id)
        changes = {path: getattr(wanted, path) for path in (paths or PREFERENCE_FIELDS)}
        updated = replace(current, **changes)
        if updated.sms_enabled and not updated.phone_number:
            raise InvalidArgumentError(
                "a phone number is needed for text messages",
                violations=[
                    FieldViolation("preferences.phone_number", "required when sms_enabled is true")
                ],
            )
        return await self._store.save_preferences(updated)

    async def _preferences(self, user_id: str) -> Preferences:
        return await self._store.get_preferences(user_id) or Preferences(user_id)

    async def _contact(self, user_id: str) -> Contact | None:
        contact = await self._store.get_contact(user_id)
        if contact is None and self._directory is not None:
            contact = await self._directory.lookup(user_id)
            if contact is not None:
                await self._store.save_contact(contact)
        return contact


def _skip_reason(preferences: Preferences, channel: Channel) -> str:
    enabled = preferences.email_enabled if channel is Channel.EMAIL else preferences.sms_enabled
    return "" if enabled else f"{channel} disabled in the user's preferences"


def _own_address(channel: Channel, contact: Contact | None, preferences: Preferences) -> str:
    address = preferences.phone_number if channel is Channel.SMS else (contact and contact.email)
    if not address:
        raise FailedPreconditionError(
            f"no {channel} address is known for the user",
            violations=[
                PreconditionViolation("RECIPIENT", "user_id", f"the user has no {channel} address")
            ],
            reason="NO_RECIPIENT",
        )
    return address


def _check_recipient(channel: Channel, recipient: str) -> None:
    valid = _PHONE.match(recipient) if channel is Channel.SMS else "@" in recipient
    if not valid:
        expected = "an E.164 phone number" if channel is Channel.SMS else "an email address"
        raise InvalidArgumentError(
            "invalid recipient", violations=[FieldViolation("recipient", f"must be {expected}")]
        )
