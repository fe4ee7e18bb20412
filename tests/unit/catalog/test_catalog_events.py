from datetime import UTC, datetime

from shop.events.v1 import events_pb2

from services.catalog.adapters.events import event_for
from services.catalog.domain import model
from services.catalog.domain.changes import ChangeKind, ProductChange
from services.catalog.domain.model import ProductDraft
from services.catalog.domain.money import Money

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
