"""Runs the outbox relay and freezes after publishing, before marking (killed by the test).

Usage: python outbox_crash_child.py DSN KAFKA_BOOTSTRAP ROW_COUNT
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import asyncpg

from mesh.events import EventPublisher, OutboxRelay
from mesh.events.publisher import OutgoingRecord


class FreezingPublisher(EventPublisher):
    def __init__(self, bootstrap: str, rows: int) -> None:
        super().__init__(bootstrap, client_id="outbox-crash-test")
        self._left = rows

    async def send_many(self, records: Sequence[OutgoingRecord]) -> None:
        await super().send_many(records)
        self._left -= len(records)
        if self._left <= 0:
            sys.stdout.write("PUBLISHED\n")
            sys.stdout.flush()
            await asyncio.Event().wait()  # frozen inside the relay's transaction


async def main(dsn: str, bootstrap: str, rows: int) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    publisher = FreezingPublisher(bootstrap, rows)
    await publisher.start()
    await OutboxRelay(pool, publisher, batch_size=rows).publish_batch()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
