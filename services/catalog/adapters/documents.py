"""Mapping between domain objects and the catalog's MongoDB documents."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from mesh.mongo import Document, entry_id

from ..domain.changes import ChangeKind, ProductChange
from ..domain.model import Product
from ..domain.money import Money
from ..domain.reservations import Reservation, StockLine


def product_to_doc(product: Product) -> Document:
    return {
        "_id": product.id,
        "name": product.name,
        "description": product.description,
        "price": {"minor": product.price.minor, "currency": product.price.currency},
        "category": product.category,
        "image_url": product.image_url,
        "inventory": product.inventory,
        # Attribute keys are user data: kept as pairs so a key like "a.b" or "$x" is just text.
        "attributes": [{"k": key, "v": value} for key, value in product.attributes.items()],
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "version": product.version,
        "rating_average": product.rating_average,
        "rating_count": product.rating_count,
        "rating_version": product.rating_version,
    }


def product_from_doc(doc: Mapping[str, Any]) -> Product:
    return Product(
        id=doc["_id"],
        name=doc["name"],
        description=doc["description"],
        price=Money(int(doc["price"]["minor"]), doc["price"]["currency"]),
        category=doc["category"],
        image_url=doc["image_url"],
        inventory=int(doc["inventory"]),
        attributes=MappingProxyType({pair["k"]: pair["v"] for pair in doc["attributes"]}),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        version=int(doc["version"]),
        rating_average=float(doc.get("rating_average", 0.0)),
        rating_count=int(doc.get("rating_count", 0)),
        rating_version=int(doc.get("rating_version", 0)),
    )


def change_id(change: ProductChange) -> str:
    if change.kind is ChangeKind.RESERVATION_VOIDED:
        return f"void:{change.op_key}"
    return entry_id(change.product_id, change.version)


def change_to_doc(change: ProductChange) -> Document:
    return {
        "_id": change_id(change),
        "product_id": change.product_id,
        "version": change.version,
        "kind": change.kind.value,
        "product": product_to_doc(change.product) if change.product else None,
        "op_key": change.op_key,
        "event_id": change.event_id,
        "occurred_at": change.occurred_at,
        "order_id": change.order_id,
        "quantity": change.quantity,
        "update_mask": list(change.update_mask),
    }


def change_from_doc(doc: Mapping[str, Any]) -> ProductChange:
    return ProductChange(
        product_id=doc["product_id"],
        version=int(doc["version"]),
        kind=ChangeKind(doc["kind"]),
        product=product_from_doc(doc["product"]) if doc["product"] else None,
        op_key=doc["op_key"],
        event_id=doc["event_id"],
        occurred_at=doc["occurred_at"],
        order_id=doc["order_id"],
        quantity=int(doc["quantity"]),
        update_mask=tuple(doc["update_mask"]),
    )


def reservation_to_doc(reservation: Reservation) -> Document:
    return {
        "_id": reservation.order_id,
        "lines": [
            {"product_id": ln.product_id, "quantity": ln.quantity} for ln in reservation.lines
        ],
        "created_at": reservation.created_at,
    }


def reservation_from_doc(doc: Mapping[str, Any]) -> Reservation:
    created_at: datetime = doc["created_at"]
    lines = tuple(StockLine(ln["product_id"], int(ln["quantity"])) for ln in doc["lines"])
    return Reservation(doc["_id"], lines, created_at)
