"""The catalog store on the MongoDB wire protocol, as served by FerretDB v1.

FerretDB v1 applies findAndModify and update as read-modify-write without a lock, so a
conditional `$inc` is not atomic there (concurrent calls read the same inventory), and it has
no multi-document transactions. What it does enforce atomically is a unique index on insert.
So every product change is first inserted into `product_changes` under the id
`<product id>@<new version>`: of two writers that read the same version only one insert
succeeds, the other re-reads and tries again. The `products` collection is the readable
projection of the latest change; the change document is also the event to publish (outbox).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from typing import Any, Final

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from mesh.errors import AbortedError, DomainError
from services.catalog.adapters.documents import (
    Document,
    change_from_doc,
    change_to_doc,
    product_from_doc,
    product_to_doc,
    reservation_from_doc,
    reservation_to_doc,
)
from services.catalog.adapters.locks import KeyedLocks
from services.catalog.adapters.repository import CatalogStore, Decide, EncodeEvent, OutboxEntry
from services.catalog.domain.changes import ChangeKind, ProductChange
from services.catalog.domain.model import Category, Product, category_display_name
from services.catalog.domain.pagination import PageCursor
from services.catalog.domain.reservations import Reservation

logger = logging.getLogger(__name__)

# Attempts of one commit when other processes keep winning the same product's next version.
MAX_COMMIT_ATTEMPTS: Final = 50
_SORT_KEY: Final = [("created_at", ASCENDING), ("_id", ASCENDING)]


# Created at start by `mesh.mongo.create_indexes`.
INDEXES: Final[dict[str, list[IndexModel]]] = {
    "products": [
        IndexModel([("category", ASCENDING), *_SORT_KEY], name="category_created"),
        IndexModel(_SORT_KEY, name="created"),
    ],
    "product_changes": [
        IndexModel([("op_key", ASCENDING)], name="op_key_unique", unique=True),
        IndexModel([("product_id", ASCENDING), ("version", ASCENDING)], name="product_version"),
        IndexModel(
            [("published", ASCENDING), ("product_id", ASCENDING), ("version", ASCENDING)],
            name="unpublished",
        ),
    ],
}


class MongoCatalogStore(CatalogStore):
    def __init__(self, db: AsyncIOMotorDatabase[Document], encode_event: EncodeEvent) -> None:
        self._encode_event = encode_event
        self._products = db.products
        self._changes = db.product_changes
        self._reservations = db.reservations
        self._categories = db.categories
        # Serializes this process's writers of one product, so they do not race each other
        # for the next version; the unique insert still guards against other processes.
        self._locks = KeyedLocks()

    async def get(self, product_id: str) -> Product | None:
        doc = await self._products.find_one({"_id": product_id})
        return product_from_doc(doc) if doc else None

    async def get_many(self, product_ids: Sequence[str]) -> dict[str, Product]:
        cursor = self._products.find({"_id": {"$in": list(product_ids)}})
        return {doc["_id"]: product_from_doc(doc) async for doc in cursor}

    async def list_page(
        self, category: str, after: PageCursor | None, limit: int
    ) -> tuple[list[Product], int]:
        matching: Document = {"category": category} if category else {}
        query = dict(matching)
        if after is not None:
            query["$or"] = [
                {"created_at": {"$gt": after.created_at}},
                {"created_at": after.created_at, "_id": {"$gt": after.product_id}},
            ]
        cursor = self._products.find(query).sort(_SORT_KEY).limit(limit)
        products = [product_from_doc(doc) async for doc in cursor]
        return products, await self._products.count_documents(matching)

    async def list_categories(self) -> list[Category]:
        counts: dict[str, int] = {}
        pipeline: list[Document] = [{"$group": {"_id": "$category", "count": {"$sum": 1}}}]
        async for row in self._products.aggregate(pipeline):
            counts[row["_id"]] = int(row["count"])
        return [
            Category(doc["_id"], doc["display_name"], counts.get(doc["_id"], 0))
            async for doc in self._categories.find().sort("_id", ASCENDING)
        ]

    async def commit(
        self, product_id: str, decide: Decide, op_key: str | None = None
    ) -> ProductChange | None:
        async with self._locks.hold(product_id):
            for attempt in range(MAX_COMMIT_ATTEMPTS):
                if op_key and (earlier := await self._find_op(op_key)):
                    return earlier
                try:
                    change = decide(await self.get(product_id))
                except DomainError:
                    # A duplicate call may have applied this operation just now elsewhere,
                    # which is why it no longer fits (e.g. the stock it took is gone).
                    if op_key and (earlier := await self._find_op(op_key)):
                        return earlier
                    raise
                if change is None:
                    return None
                try:
                    await self._changes.insert_one(self._change_doc(change))
                except DuplicateKeyError:
                    if earlier := await self._find_op(change.op_key):
                        return earlier
                    # Another process committed this version first (or this one crashed
                    # before projecting it): project the latest change and decide again.
                    await self._catch_up(product_id)
                    await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                    continue
                await self._project(change)
                return change
        raise AbortedError(
            f"product {product_id} is changing too fast; try again", reason="CONTENTION"
        )

    async def void(self, change: ProductChange) -> ProductChange:
        try:
            await self._changes.insert_one(self._change_doc(change))
            return change
        except DuplicateKeyError:
            earlier = await self._find_op(change.op_key)
            assert earlier is not None
            return earlier

    async def find_changes(self, op_keys: Sequence[str]) -> dict[str, ProductChange]:
        cursor = self._changes.find({"op_key": {"$in": list(op_keys)}})
        return {doc["op_key"]: change_from_doc(doc) async for doc in cursor}

    async def add_reservation(self, reservation: Reservation) -> Reservation:
        try:
            await self._reservations.insert_one(reservation_to_doc(reservation))
            return reservation
        except DuplicateKeyError:
            doc = await self._reservations.find_one({"_id": reservation.order_id})
            assert doc is not None
            return reservation_from_doc(doc)

    async def unpublished(self, limit: int) -> list[OutboxEntry]:
        cursor = (
            self._changes.find({"published": False})
            .sort([("product_id", ASCENDING), ("version", ASCENDING)])
            .limit(limit)
        )
        return [OutboxEntry(doc["_id"], doc["product_id"], doc["event"]) async for doc in cursor]

    async def mark_published(self, change_ids: Sequence[str]) -> None:
        await self._changes.update_many(
            {"_id": {"$in": list(change_ids)}}, {"$set": {"published": True}}
        )

    async def catch_up(self, product_id: str) -> None:
        async with self._locks.hold(product_id):
            await self._catch_up(product_id)

    async def _catch_up(self, product_id: str) -> None:
        latest = await self._changes.find_one(
            {"product_id": product_id, "version": {"$gt": 0}}, sort=[("version", DESCENDING)]
        )
        if latest is not None:
            await self._project(change_from_doc(latest))

    async def _find_op(self, op_key: str) -> ProductChange | None:
        doc = await self._changes.find_one({"op_key": op_key})
        return change_from_doc(doc) if doc else None

    def _change_doc(self, change: ProductChange) -> Document:
        doc = change_to_doc(change)
        doc["event"] = self._encode_event(change) if change.publishes_event else b""
        return doc

    async def _project(self, change: ProductChange) -> None:
        """Makes the readable product reflect `change` unless it already shows a newer one."""
        older: Document = {"_id": change.product_id, "version": {"$lt": change.version}}
        if change.product is None:
            await self._products.delete_one(older)
            return
        doc: dict[str, Any] = product_to_doc(change.product)
        del doc["_id"]
        try:
            await self._products.update_one(older, {"$set": doc}, upsert=True)
        except DuplicateKeyError:
            pass  # the product already shows this change or a newer one
        if change.kind not in (ChangeKind.CREATED, ChangeKind.UPDATED):
            return
        try:
            await self._categories.update_one(
                {"_id": change.product.category},
                {"$setOnInsert": {"display_name": category_display_name(change.product.category)}},
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # created concurrently
