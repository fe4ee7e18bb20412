"""A versioned change log on FerretDB, built on the one write it makes atomic.

FerretDB 1.x runs updates as read-modify-write without a lock and has no transactions; what
it does enforce atomically is a unique index on insert. So every change of a stream (one
product, one product's reviews) is *inserted* as `<stream>@<version>` (zero padded, so ids
sort like versions) with a unique `op_key`: of two writers that read the same version only
one insert succeeds, and an operation repeated under its key finds the first one.

Every read is an `_id` lookup or one equality on an indexed top-level field, the queries
FerretDB answers in SQL; nothing reads a stream's whole history. The latest version is found
from a hint (the version a projection shows, which may lag but never leads) by probing the
following ids.

With an outbox, an entry that carries an event has it staged before the insert (see
`mesh.mongo.outbox`), so committing a change and recording its event cannot come apart.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from mesh.errors import AbortedError, DomainError
from mesh.mongo.database import Collection, Document
from mesh.mongo.outbox import MongoOutbox

__all__ = ["LEDGER_INDEXES", "Ledger", "LedgerEntry", "VersionTaken", "entry_id"]

# Attempts of one commit while other writers keep taking the stream's next version.
MAX_COMMIT_ATTEMPTS: Final = 50

# The indexes a ledger collection needs (besides `_id`).
LEDGER_INDEXES: Final = [IndexModel([("op_key", ASCENDING)], name="op_key_unique", unique=True)]


class VersionTaken(Exception):
    """Another change holds this version of the stream."""

    def __init__(self, entry_id: str) -> None:
        super().__init__(f"{entry_id} is taken")
        self.entry_id = entry_id


def entry_id(stream: str, version: int) -> str:
    return f"{stream}@{version:012d}"


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A change to append: its document (with `_id`, `op_key` and `event_id`) and the
    serialized event to publish for it (b"" for none)."""

    document: Document
    stream: str
    version: int
    event: bytes = field(default=b"", repr=False)
    # Small facts the relay needs with the event (see `mesh.mongo.outbox.PendingEvent`).
    meta: Document = field(default_factory=dict)


class Ledger:
    def __init__(self, changes: Collection, outbox: MongoOutbox | None = None) -> None:
        self._changes = changes
        self._outbox = outbox

    async def find(self, op_key: str) -> Document | None:
        return await self._changes.find_one({"op_key": op_key})

    async def find_many(self, op_keys: Sequence[str]) -> dict[str, Document]:
        """One equality lookup per key, concurrently (`$in` is not pushed down to SQL)."""
        found = await asyncio.gather(*(self.find(key) for key in op_keys))
        return {doc["op_key"]: doc for doc in found if doc is not None}

    async def get(self, stream: str, version: int) -> Document | None:
        return await self._changes.find_one({"_id": entry_id(stream, version)})

    async def latest(self, stream: str, known_version: int = 0) -> Document | None:
        """The stream's newest entry, probing upwards from `known_version` (a version the
        stream is known to have reached; 0 probes from the start)."""
        latest = await self.get(stream, known_version) if known_version else None
        version = known_version
        while (following := await self.get(stream, version + 1)) is not None:
            latest, version = following, version + 1
        return latest

    async def insert(self, entry: LedgerEntry) -> Document:
        """Appends `entry`; returns the document already stored under its op key when there
        is one (the operation was done before), else raises VersionTaken."""
        doc = entry.document
        staged = bool(entry.event) and self._outbox is not None
        if staged:
            assert self._outbox is not None
            await self._outbox.stage(
                doc["event_id"], entry.stream, entry.version, doc["_id"], entry.event, entry.meta
            )
        try:
            await self._changes.insert_one(doc)
        except DuplicateKeyError:
            if staged:
                assert self._outbox is not None
                await self._outbox.discard(doc["event_id"])
            if earlier := await self.find(doc["op_key"]):
                return earlier
            raise VersionTaken(doc["_id"]) from None
        if staged:
            assert self._outbox is not None
            await self._outbox.committed(doc["event_id"])
        return doc

    async def commit(
        self,
        build: Callable[[], Awaitable[LedgerEntry | None]],
        *,
        op_key: str | None,
        contended: str,
        on_conflict: Callable[[], Awaitable[object]] | None = None,
    ) -> Document | None:
        """Builds and appends a change until it lands on a free version.

        `build` reads the state it decides on and returns the entry (None: nothing to do)
        or raises a domain error; the entry must carry `op_key` when one is given. When an
        entry under that op key exists, it is returned instead, even if `build` now raises:
        a repeated operation may no longer fit (the stock it took is gone). On a taken
        version `on_conflict` runs (e.g. to bring a projection up to date) and `build` is
        called again.
        `contended` names the stream in the ABORTED error after too many lost races.
        """
        for attempt in range(MAX_COMMIT_ATTEMPTS):
            # The first attempt relies on the unique op key index instead of a lookup: a
            # lookup by any field but `_id` scans the whole ledger in FerretDB's backend.
            if attempt and op_key and (earlier := await self.find(op_key)):
                return earlier
            try:
                entry = await build()
            except DomainError:
                if op_key and (earlier := await self.find(op_key)):
                    return earlier
                raise
            if entry is None:
                return None
            try:
                return await self.insert(entry)
            except VersionTaken:
                if on_conflict is not None:
                    await on_conflict()
                # Back off a little so racing writers spread out, then build on the winner.
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise AbortedError(f"{contended} is changing too fast; try again", reason="CONTENTION")
