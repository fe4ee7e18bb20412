"""Shared pieces for the services on the MongoDB wire protocol (served by FerretDB v1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import IndexModel

__all__ = ["create_indexes"]


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
