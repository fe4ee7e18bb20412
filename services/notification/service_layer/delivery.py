"""Delivering one message exactly once, with a delivery log that tells what happened.

1. `claim`: the log row for the message's dedupe key is inserted (or found) and committed.
   A row already SENT, SKIPPED or FAILED means the message was dealt with: nothing is sent.
2. `begin_attempt`: the row becomes SENDING with attempts + 1 and is committed BEFORE the
   message is handed over, under a Message-ID fixed at claim time.
3. The message is handed to the SMTP server (or SMS provider); the outcome is committed at
   once: SENT, back to PENDING with the error (then a backoff and the next attempt), or
   FAILED after the last attempt or on a permanent refusal.

A SENDING row younger than the lease belongs to a sender that may still be talking to the
server: we wait for the lease to pass rather than send alongside it. A SENDING row older
than the lease was interrupted (the process died mid-attempt) and is attempted again, with
the same Message-ID. The residual window: a process that dies after the server accepted
the message and before SENT was committed (one round trip) causes one resend, which
carries the same Message-ID so the receiving side can recognise it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import NoReturn

from mesh.clock import Clock

from ..domain.delivery import (
    DeliveryFailedError,
    DeliveryInProgressError,
    DeliveryPolicy,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from ..domain.model import Channel, Notification, Status
from .ports import (
    Email,
    EmailSender,
    NotificationStore,
    Rendered,
    SmsProvider,
    TextMessage,
)

logger = logging.getLogger(__name__)

_LEASE_MARGIN_SECONDS = 0.5

Sleep = Callable[[float], Awaitable[None]]


class Deliverer:
    def __init__(
        self,
        store: NotificationStore,
        mail: EmailSender,
        sms: SmsProvider,
        policy: DeliveryPolicy,
        clock: Clock,
        *,
        message_id_domain: str = "shopmesh.local",
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._store = store
        self._mail = mail
        self._sms = sms
        self._policy = policy
        self._clock = clock
        self._domain = message_id_domain
        self._sleep = sleep

    def new_entry(
        self,
        *,
        dedupe_key: str,
        user_id: str,
        channel: Channel,
        template: str,
        recipient: str,
        subject: str,
        event_id: str,
        skipped_because: str = "",
    ) -> Notification:
        notification_id = str(uuid.uuid4())
        return Notification(
            id=notification_id,
            dedupe_key=dedupe_key,
            user_id=user_id,
            channel=channel,
            template=template,
            recipient=recipient,
            subject=subject,
            status=Status.SKIPPED if skipped_because else Status.PENDING,
            attempts=0,
            error=skipped_because,
            event_id=event_id,
            message_id=f"<{notification_id}@{self._domain}>",
            create_time=self._clock(),
        )

    async def deliver(
        self, entry: Notification, content: Rendered, *, wait_for_other_sender: bool
    ) -> Notification:
        """Sends `entry` unless its dedupe key was dealt with; the final log row.

        Raises DeliveryFailedError when the message cannot be delivered (the row says why),
        DeliveryInProgressError when another sender is on it and waiting is not wanted.
        """
        row = await self._store.claim(entry)
        while True:
            if row.status is Status.FAILED:
                raise DeliveryFailedError(row.error, row.id)
            if row.status.is_final:
                return row
            attempt = await self._store.begin_attempt(row.id, self._policy.sending_lease_seconds)
            if attempt is None:
                row = await self._wait_for_other_sender(row.id, wait_for_other_sender)
                continue
            if attempt.attempts > 1 and row.status is Status.SENDING:
                logger.warning(
                    "attempt %d of notification %s resends after an interrupted attempt "
                    "(same Message-ID %s)",
                    attempt.attempts,
                    attempt.id,
                    attempt.message_id,
                )
            row = await self._attempt(attempt, content)

    async def _attempt(self, row: Notification, content: Rendered) -> Notification:
        outcome = asyncio.ensure_future(self._hand_over_and_record(row, content))
        try:
            recorded, retry_after = await asyncio.shield(outcome)
        except asyncio.CancelledError:
            # A shutdown in the middle of an attempt lets it finish (the transport timeout
            # bounds it), so its outcome is on record and the next process does not resend.
            await asyncio.wait([outcome])
            raise
        if retry_after is not None:
            await self._sleep(retry_after)
        return recorded

    async def _hand_over_and_record(
        self, row: Notification, content: Rendered
    ) -> tuple[Notification, float | None]:
        """The attempt's outcome, committed; with the backoff when another attempt is due."""
        try:
            await self._hand_over(row, content)
        except TransientDeliveryError as error:
            if row.attempts >= self._policy.max_attempts:
                await self._give_up(row, f"gave up after {row.attempts} attempts: {error}")
            logger.warning("attempt %d of notification %s failed: %s", row.attempts, row.id, error)
            pending = await self._store.finish_attempt(row.id, Status.PENDING, str(error))
            return pending, self._policy.backoff(row.attempts)
        except PermanentDeliveryError as error:
            await self._give_up(row, f"refused: {error}")
        return await self._store.finish_attempt(row.id, Status.SENT, ""), None

    async def _hand_over(self, row: Notification, content: Rendered) -> None:
        if row.channel is Channel.EMAIL:
            email = Email(
                row.recipient, content.subject, content.text, content.html, row.message_id
            )
            await self._mail.send(email)
        else:
            await self._sms.send(TextMessage(row.recipient, content.text, row.message_id))

    async def _give_up(self, row: Notification, reason: str) -> NoReturn:
        logger.error("notification %s (%s) failed: %s", row.id, row.template, reason)
        await self._store.finish_attempt(row.id, Status.FAILED, reason)
        raise DeliveryFailedError(
            f"{row.channel} {row.template} to {row.recipient}: {reason}", row.id
        )

    async def _wait_for_other_sender(self, notification_id: str, wait: bool) -> Notification:
        row = await self._store.get(notification_id)
        assert row is not None, "claimed rows are never deleted"
        if row.status is not Status.SENDING:
            return row
        if not wait:
            raise DeliveryInProgressError(notification_id)
        started = row.attempt_started_at or self._clock()
        remaining = self._policy.sending_lease_seconds - (self._clock() - started).total_seconds()
        # A little past the lease: the database's clock decides, and may differ from ours.
        await self._sleep(max(_LEASE_MARGIN_SECONDS, remaining + _LEASE_MARGIN_SECONDS))
        refreshed = await self._store.get(notification_id)
        assert refreshed is not None
        return refreshed
