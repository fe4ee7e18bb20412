"""A transactional outbox for services on FerretDB, which has no transactions.

The event of a change is *staged* in a small `outbox` collection before the change is
inserted, and names the record that will prove the change committed (its `_id` in the
source collection, and the `event_id` that record must carry). After the insert the writer
marks the entry committed; the relay publishes committed entries, then deletes them, so the
collection holds only what is in flight. An entry left unmarked (the writer died, or lost
its insert to another writer and died before discarding) is checked against its record
after `confirm_after`: published if the record is there with its event id, dropped if the
record holds another event, and dropped after `grace` if the record never appeared. `grace`
must be far longer than a writer can take between staging and inserting.

The relay reads only the outbox itself and, for an unmarked entry, one record by `_id`.
It never reads the source collection otherwise: in FerretDB 1.x even an `_id` lookup is a
sequential scan of the collection in PostgreSQL, and a ledger only grows.

The relay wakes when this process commits a staged change (`written()`), and otherwise
polls slowly for entries other replicas or a crashed process left behind. Publishing is
at least once: a crash between publish and delete repeats the event with the same
`event_id`, which consumers dedupe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from pymongo import ASCENDING

from mesh.clock import Clock, utc_now
from mesh.events.envelope import Event
from mesh.events.relay import relay_forever
from mesh.mongo.database import Collection, Document

__all__ = ["MongoOutbox", "MongoOutboxRelay", "PendingEvent", "Publisher"]

logger = logging.getLogger(__name__)

_ORDER = [("stream", ASCENDING), ("seq", ASCENDING)]


class Publisher(Protocol):
    async def publish(self, event: Event) -> None: ...


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """A staged event whose change committed; `meta` is what the writer staged with it."""

    event_id: str
    stream: str
    seq: int
    source_id: str
    event: bytes
    meta: Document


class MongoOutbox:
    """Stages events in `entries` for records of `source` and lists the committed ones."""

    def __init__(
        self,
        entries: Collection,
        source: Collection,
        *,
        confirm_after: timedelta = timedelta(seconds=10),
        grace: timedelta = timedelta(minutes=5),
        clock: Clock = utc_now,
    ) -> None:
        self._entries = entries
        self._source = source
        self._confirm_after = confirm_after
        self._grace = grace
        self._clock = clock
        self.wake = asyncio.Event()

    async def stage(
        self,
        event_id: str,
        stream: str,
        seq: int,
        source_id: str,
        event: bytes,
        meta: Document | None = None,
    ) -> None:
        """Call before inserting the record `source_id` (which must carry `event_id`).

        `stream` and `seq` order the events: a stream's events go out in `seq` order. `meta`
        (small) comes back with the pending event."""
        await self._entries.insert_one(
            {
                "_id": event_id,
                "stream": stream,
                "seq": seq,
                "source_id": source_id,
                "event": event,
                "meta": meta or {},
                "committed": False,
                "staged_at": self._clock(),
            }
        )

    async def committed(self, event_id: str) -> None:
        """The staged change committed: mark it and wake the relay."""
        await self._entries.update_one({"_id": event_id}, {"$set": {"committed": True}})
        self.wake.set()

    async def discard(self, event_id: str) -> None:
        """The staged change did not commit (its insert failed)."""
        await self._entries.delete_one({"_id": event_id})

    async def pending(self, limit: int) -> list[PendingEvent]:
        """Up to `limit` events of committed changes, each stream's in `seq` order.

        A stream whose next entry is not yet known to have committed (its writer is still
        inserting) is held back, so its later events never overtake it."""
        entries = await self._entries.find({}).sort(_ORDER).to_list(None)
        confirmed: list[PendingEvent] = []
        blocked: set[str] = set()
        for entry in entries:
            if len(confirmed) >= limit:
                break
            stream = entry["stream"]
            if stream in blocked:
                continue
            if entry["committed"] or await self._confirm(entry):
                confirmed.append(
                    PendingEvent(
                        entry["_id"],
                        stream,
                        int(entry["seq"]),
                        entry["source_id"],
                        entry["event"],
                        entry["meta"],
                    )
                )
            else:
                blocked.add(stream)
        return confirmed

    async def _confirm(self, entry: Document) -> bool:
        """Decides an unmarked entry from its record; False while its writer may still be
        inserting."""
        age = self._clock() - entry["staged_at"]
        if age < self._confirm_after:
            return False
        record = await self._source.find_one({"_id": entry["source_id"]})
        if record is not None and record.get("event_id") == entry["_id"]:
            return True
        if record is not None or age > self._grace:
            # Another writer's record holds that place, or the writer died before its
            # insert: this change never committed, so its event must never go out.
            await self.discard(entry["_id"])
        return False

    async def remove(self, event_ids: Sequence[str]) -> None:
        """Deletes published entries, one `_id` lookup each (never a scan)."""
        await asyncio.gather(*(self.discard(event_id) for event_id in event_ids))

    async def count(self) -> int:
        return await self._entries.count_documents({})


class MongoOutboxRelay:
    """Publishes a `MongoOutbox` until cancelled (a `ServiceSpec.background` task).

    `before_publish` runs with each batch before it goes out (e.g. to make a projection
    show the changes, so a consumer that reads back sees at least that version)."""

    def __init__(
        self,
        outbox: MongoOutbox,
        publisher: Publisher,
        *,
        what: str,
        before_publish: Callable[[Sequence[PendingEvent]], Awaitable[None]] | None = None,
        batch_size: int = 100,
        safety_poll_seconds: float = 5.0,
        retry_seconds: float = 0.5,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._what = what
        self._before_publish = before_publish
        self._batch_size = batch_size
        self._safety_poll_seconds = safety_poll_seconds
        self._retry_seconds = retry_seconds
        self._max_backoff_seconds = max_backoff_seconds

    async def run(self) -> None:
        await relay_forever(
            self.publish_pending,
            what=self._what,
            batch_size=self._batch_size,
            poll_seconds=self._safety_poll_seconds,
            retry_seconds=self._retry_seconds,
            max_backoff_seconds=self._max_backoff_seconds,
            wake=self._outbox.wake,
        )

    async def publish_pending(self) -> int:
        """Publishes one batch and deletes it from the outbox; returns how many went out."""
        batch = await self._outbox.pending(self._batch_size)
        if not batch:
            return 0
        if self._before_publish is not None:
            await self._before_publish(batch)
        for pending in batch:
            await self._publisher.publish(Event.FromString(pending.event))
        await self._outbox.remove([pending.event_id for pending in batch])
        return len(batch)
