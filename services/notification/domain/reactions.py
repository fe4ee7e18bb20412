"""What a shopper is told: the message an occurrence calls for, through which channels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .model import Channel, Contact

EMAIL_ONLY = (Channel.EMAIL,)
EMAIL_AND_SMS = (Channel.EMAIL, Channel.SMS)


@dataclass(frozen=True, slots=True)
class Reaction:
    user_id: str
    template: str
    variables: Mapping[str, object]
    channels: tuple[Channel, ...]
    # Sends the email to this address instead of the user's current one.
    email_to: str = ""
    # Contact data carried by the event itself (UserRegistered), ahead of the stored one.
    contact: Contact | None = field(default=None)


def reaction_to_contact_change(before: Contact | None, after: Contact) -> Reaction | None:
    """A changed email address is announced to the OLD address (an account takeover shows)."""
    if before is None or not before.email or before.email.lower() == after.email.lower():
        return None
    variables = {"old_email": before.email, "new_email": after.email}
    return Reaction(after.user_id, "email_changed", variables, EMAIL_ONLY, email_to=before.email)
