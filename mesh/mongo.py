"""Shared pieces for the services on the MongoDB wire protocol (served by FerretDB v1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo import IndexModel

__all__ = ["MongoDatabase", "create_indexes", "open_database"]

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class MongoDatabase:
    """A service's own database and the client behind it: the readiness probe and the
    cleanup a `ServiceSpec` needs."""

    client: AsyncIOMotorClient[Document]
    db: AsyncIOMotorDatabase[Document]

    async def ping(self) -> None:
        await self.db.command("ping")

    async def close(self) -> None:
        self.client.close()


async def open_database(
    url: str, database: str, indexes: Mapping[str, Sequence[IndexModel]]
) -> MongoDatabase:
    """Connects (timezone-aware datetimes, a 5 s server selection so a missing server fails
    the call instead of hanging it) and creates `indexes`."""
    client: AsyncIOMotorClient[Document] = AsyncIOMotorClient(
        url, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    mongo = MongoDatabase(client, client[database])
    await create_indexes(mongo.db, indexes)
    return mongo


async def create_indexes(
    db: AsyncIOMotorDatabase[Any], indexes: Mapping[str, Sequence[IndexModel]]
) -> None:
    """Creates `indexes` (collection name -> its indexes); idempotent, so safe at every start.

    One index per command: FerretDB 1.24 drops the connection when a single createIndexes
    names several indexes that already exist.
    """
    for collection, models in indexes.items():
        for index in models:
            await db[collection].create_indexes([index])
