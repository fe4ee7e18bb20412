from datetime import UTC, datetime

import pytest
from shop.events.v1 import events_pb2

from mesh.events import Event
from services.catalog.domain import model
from services.catalog.domain.changes import ChangeKind, ProductChange
from services.catalog.domain.model import ProductDraft
from services.catalog.domain.money import Money
from services.catalog.events import event_for
from services.catalog.outbox import OutboxRelay

from .catalog_fakes import FakeCatalogStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MUG = model.create_product(
    "p1", ProductDraft(name="Mug", price=Money(1299, "USD"), category="kitchen"), T0
)


def change(kind: ChangeKind, **fields: object) -> ProductChange:
    values: dict[str, object] = {
        "product_id": "p1",
        "version": 4,
        "kind": kind,
        "product": MUG,
        "op_key": "k",
        "event_id": "e1",
        "occurred_at": T0,
        **fields,
    }
    return ProductChange(**values)  # type: ignore[arg-type]


def test_stock_changes_carry_delta_reason_and_version() -> None:
    event = event_for(change(ChangeKind.STOCK_RESERVED, quantity=2, order_id="o1"))
    assert (event.event_id, event.aggregate_id, event.aggregate_version) == ("e1", "p1", 4)
    assert event.event_type == "shop.events.v1.StockChanged"
    stock = event.stock_changed
    assert (stock.delta, stock.order_id, stock.version) == (-2, "o1", 4)
    assert stock.reason == events_pb2.STOCK_CHANGE_REASON_RESERVED


def test_updates_and_deletes_map_to_their_events() -> None:
    updated = event_for(change(ChangeKind.UPDATED, update_mask=("name",)))
    assert list(updated.product_updated.update_mask.paths) == ["name"]
    assert updated.product_updated.product.price.units == 12
    deleted = event_for(change(ChangeKind.DELETED, product=None))
    assert (deleted.product_deleted.product_id, deleted.product_deleted.version) == ("p1", 4)


class RecordingPublisher:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[Event] = []
        self.fail = fail

    async def publish(self, event: Event) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.events.append(event)


async def test_relay_marks_only_what_it_published() -> None:
    store = FakeCatalogStore(encode_event=lambda c: event_for(c).SerializeToString())
    store.changes.append(change(ChangeKind.CREATED, version=1, event_id="e1"))
    with pytest.raises(ConnectionError):
        await OutboxRelay(store, RecordingPublisher(fail=True)).publish_pending()
    assert store.published == set()
    publisher = RecordingPublisher()
    assert await OutboxRelay(store, publisher).publish_pending() == 1
    assert [(e.event_id, e.aggregate_version) for e in publisher.events] == [("e1", 1)]
    assert store.published == {"e1"}
    assert await OutboxRelay(store, publisher).publish_pending() == 0
