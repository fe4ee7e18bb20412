"""EventConsumer against real Kafka: dedupe, commit after handling, dead letters."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from shop.events.v1 import events_pb2

from mesh.events import (
    Event,
    EventConsumer,
    EventPublisher,
    HandlerDedupes,
    PostgresProcessedEvents,
    ProcessedEvents,
    RetryPolicy,
    current_transaction,
    dlq_topic,
    ensure_topics,
    new_event,
)
from mesh.events.envelope import headers_for
from mesh.events.publisher import OutgoingRecord

pytestmark = pytest.mark.integration


def event(user_id: str) -> Event:
    return new_event(
        events_pb2.UserRegistered(user_id=user_id, email=f"{user_id}@example.com"),
        aggregate_type="user",
        aggregate_id=user_id,
        aggregate_version=1,
        producer="user",
    )


@pytest.fixture
async def publisher(kafka_bootstrap: str) -> AsyncIterator[EventPublisher]:
    publisher = EventPublisher(kafka_bootstrap, client_id="consumer-test")
    await publisher.start()
    yield publisher
    await publisher.stop()


@pytest.fixture
def topic() -> str:
    """A topic of this test alone, so earlier runs and tests cannot interfere."""
    return f"meshtest.{uuid.uuid4().hex[:12]}.events"


async def send(publisher: EventPublisher, topic: str, item: Event | bytes) -> None:
    if isinstance(item, bytes):
        await publisher.send(topic, key=b"k", value=item)
    else:
        await publisher.send(
            topic, key=b"k", value=item.SerializeToString(), headers=headers_for(item)
        )


@asynccontextmanager
async def consuming(
    kafka_bootstrap: str,
    topic: str,
    group: str,
    handler: Callable[[Event], Any],
    processed: ProcessedEvents,
    publisher: EventPublisher,
) -> AsyncIterator[None]:
    consumer = EventConsumer(
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        topics=[topic],
        handler=handler,
        processed=processed,
        dead_letters=publisher,
        retry=RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05),
    )
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_duplicates_are_handled_once_and_offsets_committed(
    database: Any, kafka_bootstrap: str, publisher: EventPublisher, topic: str
) -> None:
    handled: list[str] = []

    async def handler(item: Event) -> None:
        # The effect commits together with the processed mark.
        conn = current_transaction()
        assert conn is not None
        await conn.execute("SELECT 1")
        handled.append(item.user_registered.user_id)

    first, second, third = event("u1"), event("u2"), event("u3")
    for item in (first, first, second, first):
        await send(publisher, topic, item)
    processed = PostgresProcessedEvents(database.pool)
    group = f"group-{topic}"
    async with consuming(kafka_bootstrap, topic, group, handler, processed, publisher):
        await wait_for(lambda: len(handled) >= 2)
        await asyncio.sleep(1.0)  # time for the duplicates to arrive and be skipped
    assert handled == ["u1", "u2"]
    rows = await database.pool.fetchval(
        "SELECT count(*) FROM processed_events WHERE consumer = $1", group
    )
    assert rows == 2

    # A restarted consumer in the same group resumes after the committed offsets.
    await send(publisher, topic, third)
    async with consuming(kafka_bootstrap, topic, group, handler, processed, publisher):
        await wait_for(lambda: len(handled) >= 3)
        await asyncio.sleep(1.0)
    assert handled == ["u1", "u2", "u3"]


async def test_failing_and_undecodable_records_are_dead_lettered(
    database: Any,
    kafka_bootstrap: str,
    publisher: EventPublisher,
    topic: str,
    topic_reader: Any,
) -> None:
    attempts: dict[str, int] = {}
    handled: list[str] = []

    async def handler(item: Event) -> None:
        user_id = item.user_registered.user_id
        attempts[user_id] = attempts.get(user_id, 0) + 1
        if user_id == "poison":
            raise ValueError("cannot handle poison")
        handled.append(user_id)

    with TracerProvider().get_tracer("test").start_as_current_span("register"):
        poison = event("poison")
    good = event("good")
    assert poison.trace_parent.startswith("00-")
    await send(publisher, topic, poison)
    await send(publisher, topic, b"\xff\xfe not a protobuf")
    await send(publisher, topic, good)
    processed = PostgresProcessedEvents(database.pool)
    async with consuming(kafka_bootstrap, topic, f"group-{topic}", handler, processed, publisher):
        await wait_for(lambda: handled == ["good"])
    assert attempts["poison"] == 3

    dead = await topic_reader(dlq_topic(topic), lambda records: len(records) >= 2)
    by_reason = {dict(r.headers)["x-dlq-attempts"]: r for r in dead}
    failed = by_reason[b"3"]
    assert Event.FromString(failed.value).event_id == poison.event_id
    headers = dict(failed.headers)
    assert headers["x-dlq-original-topic"] == topic.encode()
    assert b"cannot handle poison" in headers["x-dlq-reason"]
    assert headers["x-dlq-consumer-group"] == f"group-{topic}".encode()
    assert headers["traceparent"] == poison.trace_parent.encode()
    undecodable = by_reason[b"0"]
    assert undecodable.value == b"\xff\xfe not a protobuf"
    # The poison event's mark was rolled back with its failed handler.
    marked = await database.pool.fetchval(
        "SELECT count(*) FROM processed_events WHERE event_id = $1", poison.event_id
    )
    assert marked == 0


class BatchRecorder:
    """A handler that takes batches: records each call; fails batches holding `poison`."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.singles: list[str] = []

    async def __call__(self, item: Event) -> None:
        if item.user_registered.user_id == "poison":
            raise ValueError("cannot handle poison")
        self.singles.append(item.user_registered.user_id)

    async def handle_batch(self, events: Sequence[Event]) -> None:
        users = [item.user_registered.user_id for item in events]
        if "poison" in users:
            raise ValueError("a batch with poison")
        self.batches.append(users)

    def handled(self) -> list[str]:
        return [user for batch in self.batches for user in batch] + self.singles


async def test_a_batch_handler_takes_what_was_fetched_in_one_call_and_offsets_are_committed(
    kafka_bootstrap: str, publisher: EventPublisher, topic: str
) -> None:
    users = [f"u{i}" for i in range(30)]
    # Sent before the consumer starts, all on one partition: its first fetch holds several.
    await publisher.send_many(
        [
            OutgoingRecord(topic, key=b"k", value=e.SerializeToString(), headers=headers_for(e))
            for e in map(event, users)
        ]
    )
    recorder = BatchRecorder()
    group = f"group-{topic}"
    async with consuming(kafka_bootstrap, topic, group, recorder, HandlerDedupes(), publisher):
        await wait_for(lambda: len(recorder.handled()) >= len(users))
    assert recorder.handled() == users  # in order, each once
    assert any(len(batch) > 1 for batch in recorder.batches)

    # Everything handled was committed: a restarted member of the group gets only what is new.
    await send(publisher, topic, event("late"))
    again = BatchRecorder()
    async with consuming(kafka_bootstrap, topic, group, again, HandlerDedupes(), publisher):
        await wait_for(lambda: again.handled() == ["late"])
        await asyncio.sleep(1.0)
    assert again.handled() == ["late"]


async def test_a_failed_batch_is_handled_one_by_one_and_only_the_bad_event_dead_lettered(
    kafka_bootstrap: str, publisher: EventPublisher, topic: str, topic_reader: Any
) -> None:
    names = ["a", "b", "poison", "c"]
    await publisher.send_many(
        [
            OutgoingRecord(topic, key=b"k", value=e.SerializeToString(), headers=headers_for(e))
            for e in map(event, names)
        ]
    )
    recorder = BatchRecorder()
    async with consuming(
        kafka_bootstrap, topic, f"group-{topic}", recorder, HandlerDedupes(), publisher
    ):
        await wait_for(lambda: sorted(recorder.handled()) == ["a", "b", "c"])
    # The batch holding the poison failed: its events came one by one.
    assert "c" in recorder.singles
    dead = await topic_reader(dlq_topic(topic), lambda records: len(records) >= 1)
    assert [Event.FromString(r.value).user_registered.user_id for r in dead] == ["poison"]


async def test_ensure_topics_creates_only_the_missing_ones(
    kafka_bootstrap: str, topic: str
) -> None:
    wanted = [topic, dlq_topic(topic)]
    assert sorted(await ensure_topics(kafka_bootstrap, wanted)) == sorted(wanted)
    assert await ensure_topics(kafka_bootstrap, wanted) == []


async def test_a_batch_is_marked_in_one_transaction_all_or_nothing(database: Any) -> None:
    processed = PostgresProcessedEvents(database.pool)
    ran: list[str] = []

    def handle(name: str, fail: bool = False) -> Callable[[], Awaitable[None]]:
        async def write() -> None:
            conn = current_transaction()
            assert conn is not None  # the batch's own transaction
            await conn.execute("SELECT 1")
            if fail:
                raise RuntimeError(f"cannot handle {name}")
            ran.append(name)

        return write

    assert await processed.process_once("g", "e1", handle("e1"))
    outcome = await processed.process_many_once(
        "g", [("e1", handle("e1 again")), ("e2", handle("e2")), ("e2", handle("e2 again"))]
    )
    assert outcome == [False, True, False]
    assert ran == ["e1", "e2"]

    with pytest.raises(RuntimeError):
        await processed.process_many_once("g", [("e3", handle("e3")), ("e4", handle("e4", True))])
    marked = await database.pool.fetch(
        "SELECT event_id FROM processed_events WHERE consumer = 'g' ORDER BY event_id"
    )
    assert [row["event_id"] for row in marked] == ["e1", "e2"]  # e3 rolled back with e4
    assert await processed.process_many_once("g", [("e3", handle("e3"))]) == [True]
