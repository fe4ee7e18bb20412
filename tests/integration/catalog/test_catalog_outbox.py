"""No acknowledged change loses its event: a failed publish is retried from the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mesh.events import Event, EventPublisher
from mesh.mongo import Database, MongoOutboxRelay, connect, create_indexes
from services.catalog.adapters.events import encode_event
from services.catalog.adapters.mongo import INDEXES, MongoCatalogStore, catalog_outbox
from services.catalog.domain.model import ProductDraft
from services.catalog.domain.money import Money
from services.catalog.domain.reservations import StockLine
from services.catalog.service_layer.catalog import CatalogService

from ..service_harness import read_events
from .catalog_harness import catalog_environ
from .catalog_identities import ORDERS, STAFF

pytestmark = pytest.mark.integration


class BrokenPublisher:
    async def publish(self, event: Event) -> None:
        raise ConnectionError("broker unreachable")


@pytest.fixture
async def database(ferretdb_url: str) -> AsyncIterator[Database]:
    client = connect(ferretdb_url)
    db = client[catalog_environ(ferretdb_url, "unused:1")["CATALOG_MONGODB_DATABASE"]]
    await create_indexes(db, INDEXES)
    yield db
    await client.drop_database(db.name)
    await client.close()


async def test_events_of_changes_committed_while_kafka_fails_are_published_later(
    database: Database, kafka_bootstrap: str
) -> None:
    outbox = catalog_outbox(database)
    store = MongoCatalogStore(database, outbox, encode_event)
    catalog = CatalogService(store)
    mug = await catalog.create_product(
        STAFF, ProductDraft(name="Mug", price=Money(1299, "USD"), category="kitchen", inventory=3)
    )
    await catalog.reserve_stock(ORDERS, "order-9", [StockLine(mug.id, 2)])

    with pytest.raises(ConnectionError):
        await MongoOutboxRelay(outbox, BrokenPublisher(), what="t").publish_pending()
    assert len(await outbox.pending(100)) == 2  # nothing was marked

    publisher = EventPublisher(kafka_bootstrap, client_id="catalog-test")
    await publisher.start()
    try:
        assert await MongoOutboxRelay(outbox, publisher, what="t").publish_pending() == 2
    finally:
        await publisher.stop()
    assert await outbox.pending(100) == []
    assert await outbox.count() == 0  # published entries are deleted: the outbox stays small
    events = await read_events(
        kafka_bootstrap, "shop.product.events", mug.id, lambda found: len(found) >= 2
    )
    assert [(e.event_type, e.aggregate_version) for e in events] == [
        ("shop.events.v1.ProductCreated", 1),
        ("shop.events.v1.StockChanged", 2),
    ]
