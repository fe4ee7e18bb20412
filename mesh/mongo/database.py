"""Connecting a service to its database on the MongoDB wire protocol (served by FerretDB v1).

PyMongo's native asyncio client (`AsyncMongoClient`): no thread pool between the event loop
and the socket, unlike motor, which it replaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

__all__ = [
    "Collection",
    "Database",
    "Document",
    "MongoDatabase",
    "connect",
    "create_indexes",
    "open_database",
]

Document = dict[str, Any]
Database = AsyncDatabase[Document]
Collection = AsyncCollection[Document]


@dataclass(frozen=True, slots=True)
class MongoDatabase:
    """A service's own database and the client behind it: the readiness probe and the
    cleanup a `ServiceSpec` needs."""

    client: AsyncMongoClient[Document]
    db: Database

    async def ping(self) -> None:
        await self.db.command("ping")

    async def close(self) -> None:
        await self.client.close()


def connect(url: str) -> AsyncMongoClient[Document]:
    """A client with timezone-aware datetimes and a 5 s server selection, so a missing server
    fails the call instead of hanging it."""
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)


async def open_database(
    url: str, database: str, indexes: Mapping[str, Sequence[IndexModel]]
) -> MongoDatabase:
    """Connects and creates `indexes`; the client is closed again when that fails."""
    client = connect(url)
    try:
        await create_indexes(client[database], indexes)
    except BaseException:
        await client.close()
        raise
    return MongoDatabase(client, client[database])


async def create_indexes(db: Database, indexes: Mapping[str, Sequence[IndexModel]]) -> None:
    """Creates `indexes` (collection name -> its indexes); idempotent, so safe at every start.

    One index per command: FerretDB 1.24 drops the connection when a single createIndexes
    names several indexes that already exist.
    """
    for collection, models in indexes.items():
        for index in models:
            await db[collection].create_indexes([index])
