"""No acknowledged change loses its event: a failed publish is retried from the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase

from mesh.events import Event, EventPublisher
from mesh.mongo import create_indexes
from services.catalog.adapters.documents import Document
from services.catalog.adapters.mongo import INDEXES, MongoCatalogStore
from services.catalog.domain.model import ProductDraft
from services.catalog.domain.money import Money
from services.catalog.domain.reservations import StockLine
from services.catalog.events import event_for
from services.catalog.outbox import OutboxRelay
from services.catalog.service import CatalogService

from ..service_harness import read_events
from .catalog_harness import catalog_environ

pytestmark = pytest.mark.integration


class BrokenPublisher:
    async def publish(self, event: Event) -> None:
        raise ConnectionError("broker unreachable")


@pytest.fixture
async def database(mongodb_url: str) -> AsyncIterator[AsyncIOMotorDatabase[Document]]:
    client: AsyncIOMotorClient[Document] = AsyncIOMotorClient(mongodb_url, tz_aware=True)
    db = client[catalog_environ(mongodb_url, "unused:1")["CATALOG_MONGODB_DATABASE"]]
    await create_indexes(db, INDEXES)
    yield db
    client.close()


async def test_events_of_changes_committed_while_kafka_fails_are_published_later(
    database: AsyncIOMotorDatabase[Document], kafka_bootstrap: str
) -> None:
    store = MongoCatalogStore(database, encode_event=lambda c: event_for(c).SerializeToString())
    catalog = CatalogService(store)
    mug = await catalog.create_product(
        ProductDraft(name="Mug", price=Money(1299, "USD"), category="kitchen", inventory=3)
    )
    await catalog.reserve_stock("order-9", [StockLine(mug.id, 2)])

    with pytest.raises(ConnectionError):
        await OutboxRelay(store, BrokenPublisher()).publish_pending()
    assert len(await store.unpublished(100)) == 2  # nothing was marked

    publisher = EventPublisher(kafka_bootstrap, client_id="catalog-test")
    await publisher.start()
    try:
        assert await OutboxRelay(store, publisher).publish_pending() == 2
    finally:
        await publisher.stop()
    assert await store.unpublished(100) == []
    events = await read_events(
        kafka_bootstrap, "shop.product.events", mug.id, lambda found: len(found) >= 2
    )
    assert [(e.event_type, e.aggregate_version) for e in events] == [
        ("shop.events.v1.ProductCreated", 1),
        ("shop.events.v1.StockChanged", 2),
    ]
