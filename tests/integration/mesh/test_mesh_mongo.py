"""mesh.mongo against a real FerretDB: indexes, the versioned ledger and the outbox relay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from mesh.errors import AbortedError, FailedPreconditionError
from mesh.events import Event
from mesh.mongo import (
    LEDGER_INDEXES,
    Database,
    Ledger,
    LedgerEntry,
    MongoOutbox,
    MongoOutboxRelay,
    VersionTaken,
    connect,
    create_indexes,
    entry_id,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(ferretdb_url: str) -> AsyncIterator[Database]:
    client = connect(ferretdb_url)
    database = client[f"mesh_{uuid.uuid4().hex[:10]}"]
    await create_indexes(database, {"changes": LEDGER_INDEXES})
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


def change(stream: str, version: int, op_key: str, event: bytes = b"") -> LedgerEntry:
    event_id = str(uuid.uuid4())
    doc = {
        "_id": entry_id(stream, version),
        "version": version,
        "op_key": op_key,
        "event_id": event_id,
    }
    payload = Event(event_id=event_id, aggregate_id=stream, aggregate_version=version)
    return LedgerEntry(doc, stream, version, payload.SerializeToString() if event else b"")


async def test_indexes_are_created_once_and_enforced(db: Database) -> None:
    indexes = {
        "products": [
            IndexModel([("category", ASCENDING)], name="category"),
            IndexModel([("sku", ASCENDING)], name="sku_unique", unique=True),
        ]
    }
    await create_indexes(db, indexes)
    await create_indexes(db, indexes)  # every start runs it again
    names = {index["name"] async for index in await db.products.list_indexes()}
    assert names == {"_id_", "category", "sku_unique"}
    await db.products.insert_one({"sku": "a"})
    with pytest.raises(DuplicateKeyError):
        await db.products.insert_one({"sku": "a"})


async def test_one_insert_per_version_and_per_operation(db: Database) -> None:
    ledger = Ledger(db.changes)
    first = change("p1", 1, "op-a")
    assert await ledger.insert(first) == first.document
    # The same operation again returns what was recorded; another one at its version loses.
    repeat = change("p1", 1, "op-a")
    assert (await ledger.insert(repeat))["event_id"] == first.document["event_id"]
    with pytest.raises(VersionTaken):
        await ledger.insert(change("p1", 1, "op-b"))
    await ledger.insert(change("p1", 2, "op-b"))
    await ledger.insert(change("p1", 3, "op-c"))
    latest = await ledger.latest("p1")
    assert latest is not None and latest["_id"] == "p1@000000000003"
    # A lagging hint still finds the newest; a stream without entries has none.
    assert (await ledger.latest("p1", known_version=2)) == latest
    assert await ledger.latest("p2") is None
    found = await ledger.find_many(["op-a", "op-c", "op-x"])
    assert sorted(found) == ["op-a", "op-c"]


async def test_racing_commits_each_land_on_their_own_version(db: Database) -> None:
    ledger = Ledger(db.changes)

    async def commit(n: int) -> None:
        async def build() -> LedgerEntry:
            latest = await ledger.latest("p1")
            return change("p1", (latest["version"] if latest else 0) + 1, f"op-{n}")

        doc = await ledger.commit(build, op_key=f"op-{n}", contended="p1")
        assert doc is not None and doc["op_key"] == f"op-{n}"

    await asyncio.gather(*(commit(n) for n in range(8)))
    ids = sorted([doc["_id"] async for doc in db.changes.find({})])
    assert ids == [entry_id("p1", v) for v in range(1, 9)]


async def test_a_repeated_operation_returns_the_first_even_when_it_no_longer_fits(
    db: Database,
) -> None:
    ledger = Ledger(db.changes)
    await ledger.insert(change("p1", 1, "reserve:o1"))

    async def refuse() -> LedgerEntry:
        raise FailedPreconditionError("no stock left", reason="INSUFFICIENT_STOCK")

    with pytest.raises(FailedPreconditionError):
        await ledger.commit(refuse, op_key="reserve:o2", contended="p1")
    earlier = await ledger.commit(refuse, op_key="reserve:o1", contended="p1")
    assert earlier is not None and earlier["_id"] == "p1@000000000001"


async def test_a_stream_that_never_gets_a_free_version_is_aborted(db: Database) -> None:
    ledger = Ledger(db.changes)
    await ledger.insert(change("p1", 1, "op-a"))

    async def always_version_one() -> LedgerEntry:
        return change("p1", 1, f"op-{uuid.uuid4().hex}")

    with pytest.raises(AbortedError) as aborted:
        await ledger.commit(always_version_one, op_key=None, contended="product p1")
    assert aborted.value.reason == "CONTENTION"


class RecordingPublisher:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[Event] = []
        self.fail = fail

    async def publish(self, event: Event) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.events.append(event)


async def test_the_relay_publishes_committed_changes_in_order_and_removes_them(
    db: Database,
) -> None:
    outbox = MongoOutbox(db.outbox, db.changes)
    ledger = Ledger(db.changes, outbox)
    for version in (1, 2):
        await ledger.insert(change("p1", version, f"op-{version}", event=b"yes"))
    assert outbox.wake.is_set()  # a committed write wakes the relay

    with pytest.raises(ConnectionError):
        await MongoOutboxRelay(outbox, RecordingPublisher(fail=True), what="t").publish_pending()
    assert await outbox.count() == 2  # nothing published, nothing removed

    publisher = RecordingPublisher()
    relay = MongoOutboxRelay(outbox, publisher, what="t")
    assert await relay.publish_pending() == 2
    assert [(e.aggregate_id, e.aggregate_version) for e in publisher.events] == [
        ("p1", 1),
        ("p1", 2),
    ]
    assert await outbox.count() == 0
    assert await relay.publish_pending() == 0


async def test_events_of_changes_that_did_not_commit_never_go_out(db: Database) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    clock = [now]
    outbox = MongoOutbox(db.outbox, db.changes, grace=timedelta(seconds=60), clock=lambda: clock[0])
    ledger = Ledger(db.changes, outbox)
    winner = change("p1", 1, "op-a", event=b"yes")
    await ledger.insert(winner)
    # The loser of the race for version 1 discards its staged event itself.
    with pytest.raises(VersionTaken):
        await ledger.insert(change("p1", 1, "op-b", event=b"yes"))
    # A writer that staged version 2 and died before inserting it: held back, then dropped.
    died = change("p1", 2, "op-c", event=b"yes")
    await outbox.stage(died.document["event_id"], "p1", 2, died.document["_id"], died.event)
    later = change("p2", 1, "op-d", event=b"yes")
    await ledger.insert(later)

    pending = await outbox.pending(10)
    assert [(p.stream, p.seq) for p in pending] == [("p1", 1), ("p2", 1)]
    assert await outbox.count() == 3
    clock[0] = now + timedelta(minutes=2)
    await outbox.remove([p.event_id for p in pending])
    assert await outbox.pending(10) == []
    assert await outbox.count() == 0


async def test_the_relay_sleeps_until_a_write_wakes_it(db: Database) -> None:
    outbox = MongoOutbox(db.outbox, db.changes)
    ledger = Ledger(db.changes, outbox)
    publisher = RecordingPublisher()
    relay = MongoOutboxRelay(outbox, publisher, what="t", safety_poll_seconds=3600)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.2)
        await ledger.insert(change("p1", 1, "op-a", event=b"yes"))
        async with asyncio.timeout(5):
            while not publisher.events:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [e.aggregate_version for e in publisher.events] == [1]


async def test_a_change_whose_writer_died_before_marking_it_is_still_published(
    db: Database,
) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    clock = [now]
    outbox = MongoOutbox(
        db.outbox, db.changes, confirm_after=timedelta(seconds=10), clock=lambda: clock[0]
    )
    crashed = change("p1", 1, "op-a", event=b"yes")
    doc = crashed.document
    await outbox.stage(doc["event_id"], "p1", 1, doc["_id"], crashed.event)
    await db.changes.insert_one(doc)  # committed, then the process died before marking it
    assert await outbox.pending(10) == []  # its writer might still be at work
    clock[0] = now + timedelta(seconds=11)
    assert [(p.stream, p.seq, p.source_id) for p in await outbox.pending(10)] == [
        ("p1", 1, "p1@000000000001")
    ]
