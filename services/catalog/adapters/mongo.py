"""The catalog store on the MongoDB wire protocol, as served by FerretDB v1.

FerretDB v1 applies findAndModify and update as read-modify-write without a lock, so a
conditional `$inc` is not atomic there, and it has no multi-document transactions. So every
product change is first inserted into the `product_changes` ledger (`mesh.mongo.Ledger`)
under `<product id>@<new version>`: of two writers that read the same version only one
insert succeeds, the other re-reads and tries again. The change's event is staged in the
outbox before that insert and published once the change is there. The `products`
collection is the readable projection of the latest change.

Every query is an `_id` lookup or an equality on a top-level field, which FerretDB pushes
down to SQL; the only sorted reads are ListProducts pages (on a cache miss) and categories.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from mesh.mongo import LEDGER_INDEXES, Database, Document, Ledger, LedgerEntry, MongoOutbox

from ..domain.changes import ChangeKind, ProductChange
from ..domain.model import Category, Product, category_display_name
from ..domain.pagination import PageCursor
from ..domain.reservations import Reservation
from ..service_layer.ports import CatalogStore, Decide, EncodeEvent
from .documents import (
    change_from_doc,
    change_id,
    change_to_doc,
    product_from_doc,
    product_to_doc,
    reservation_from_doc,
    reservation_to_doc,
)
from .locks import KeyedLocks

_SORT_KEY: Final = [("created_at", ASCENDING), ("_id", ASCENDING)]

# Created at start by `mesh.mongo.create_indexes`: one for every filter and sort used.
INDEXES: Final[dict[str, list[IndexModel]]] = {
    "products": [
        IndexModel([("category", ASCENDING), *_SORT_KEY], name="category_created"),
        IndexModel(_SORT_KEY, name="created"),
    ],
    "product_changes": LEDGER_INDEXES,
    "outbox": [IndexModel([("stream", ASCENDING), ("seq", ASCENDING)], name="stream_seq")],
}


def catalog_outbox(db: Database) -> MongoOutbox:
    return MongoOutbox(db.outbox, db.product_changes)


class MongoCatalogStore(CatalogStore):
    def __init__(self, db: Database, outbox: MongoOutbox, encode_event: EncodeEvent) -> None:
        self._encode_event = encode_event
        self._products = db.products
        self._ledger = Ledger(db.product_changes, outbox)
        self._reservations = db.reservations
        self._categories = db.categories
        # Serializes this process's writers of one product, so they do not race each other
        # for the next version; the unique insert still guards against other processes.
        self._locks = KeyedLocks()

    async def get(self, product_id: str) -> Product | None:
        doc = await self._products.find_one({"_id": product_id})
        return product_from_doc(doc) if doc else None

    async def get_many(self, product_ids: Sequence[str]) -> dict[str, Product]:
        # One `_id` lookup each, concurrently: FerretDB does not push `$in` down to SQL and
        # would decode the whole collection for it.
        docs = await asyncio.gather(*(self._products.find_one({"_id": pid}) for pid in product_ids))
        return {doc["_id"]: product_from_doc(doc) for doc in docs if doc is not None}

    async def list_page(self, category: str, after: PageCursor | None, limit: int) -> list[Product]:
        query: Document = {"category": category} if category else {}
        if after is not None:
            query["$or"] = [
                {"created_at": {"$gt": after.created_at}},
                {"created_at": after.created_at, "_id": {"$gt": after.product_id}},
            ]
        cursor = self._products.find(query).sort(_SORT_KEY).limit(limit)
        return [product_from_doc(doc) async for doc in cursor]

    async def count(self, category: str) -> int:
        return await self._products.count_documents({"category": category} if category else {})

    async def list_categories(self) -> list[Category]:
        counts: dict[str, int] = {}
        pipeline: list[Document] = [{"$group": {"_id": "$category", "count": {"$sum": 1}}}]
        async for row in await self._products.aggregate(pipeline):
            counts[row["_id"]] = int(row["count"])
        return [
            Category(doc["_id"], doc["display_name"], counts.get(doc["_id"], 0))
            async for doc in self._categories.find().sort("_id", ASCENDING)
        ]

    async def commit(
        self, product_id: str, decide: Decide, op_key: str | None = None
    ) -> ProductChange | None:
        async def build() -> LedgerEntry | None:
            change = decide(await self.get(product_id))
            return self._entry(change) if change is not None else None

        async with self._locks.hold(product_id):
            doc = await self._ledger.commit(
                build,
                op_key=op_key,
                contended=f"product {product_id}",
                # Another process committed this version first (or this one crashed before
                # projecting it): project the latest change before deciding again.
                on_conflict=lambda: self._catch_up(product_id),
            )
            if doc is None:
                return None
            change = change_from_doc(doc)
            await self._project(change)
            return change

    async def void(self, change: ProductChange) -> ProductChange:
        return change_from_doc(await self._ledger.insert(self._entry(change)))

    async def find_changes(self, op_keys: Sequence[str]) -> dict[str, ProductChange]:
        found = await self._ledger.find_many(op_keys)
        return {key: change_from_doc(doc) for key, doc in found.items()}

    async def add_reservation(self, reservation: Reservation) -> Reservation:
        try:
            await self._reservations.insert_one(reservation_to_doc(reservation))
            return reservation
        except DuplicateKeyError:
            doc = await self._reservations.find_one({"_id": reservation.order_id})
            assert doc is not None
            return reservation_from_doc(doc)

    async def catch_up(self, product_id: str, known_version: int = 0) -> Product | None:
        """Brings the readable product up to its latest committed change and returns it.

        `known_version` is a version the product is known to have reached (an event's), so
        the search for the latest starts there even when the projection is gone."""
        async with self._locks.hold(product_id):
            return await self._catch_up(product_id, known_version)

    async def _catch_up(self, product_id: str, known_version: int = 0) -> Product | None:
        shown = await self.get(product_id)
        if known_version and shown is not None and shown.version >= known_version:
            return shown  # the usual case: no lookup in the ledger
        start = max(shown.version if shown else 0, known_version)
        latest = await self._ledger.latest(product_id, start)
        if latest is None or (shown is not None and latest["version"] <= shown.version):
            return shown
        change = change_from_doc(latest)
        await self._project(change)
        return change.product

    def _entry(self, change: ProductChange) -> LedgerEntry:
        event = self._encode_event(change) if change.publishes_event else b""
        doc = change_to_doc(change)
        assert doc["_id"] == change_id(change)
        return LedgerEntry(doc, change.product_id, change.version, event)

    async def _project(self, change: ProductChange) -> None:
        """Makes the readable product reflect `change` unless it already shows a newer one."""
        if change.kind is ChangeKind.RESERVATION_VOIDED:
            return
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
