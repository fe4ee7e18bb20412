"""How hard delivery is tried, and the ways it can go wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int = 5
    first_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    # An attempt still 'sending' after this long was interrupted (its sender died); it must
    # exceed the transport timeout so a live sender always finishes first.
    sending_lease_seconds: float = 60.0

    def backoff(self, attempts_made: int) -> float:
        return float(
            min(self.max_backoff_seconds, self.first_backoff_seconds * 2 ** (attempts_made - 1))
        )


class TransientDeliveryError(Exception):
    """The server or provider may accept the message later (4xx, connection refused, timeout)."""


class PermanentDeliveryError(Exception):
    """Retrying cannot help (5xx: recipient refused, message rejected)."""


class DeliveryFailedError(Exception):
    """The last attempt failed; the delivery log row is FAILED with the reason."""

    def __init__(self, reason: str, notification_id: str) -> None:
        super().__init__(reason)
        self.notification_id = notification_id


class DeliveryInProgressError(Exception):
    """Another sender holds a fresh 'sending' attempt for the same message."""


class UnknownRecipientError(Exception):
    """No contact is known for the user yet (its UserRegistered may still be on its way)."""
