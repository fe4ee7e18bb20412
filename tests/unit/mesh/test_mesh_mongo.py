from __future__ import annotations

from typing import Any, cast

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING, IndexModel

from mesh.mongo import create_indexes


class FakeCollection:
    def __init__(self, name: str, calls: list[tuple[str, list[str]]]) -> None:
        self._name = name
        self._calls = calls

    async def create_indexes(self, indexes: list[IndexModel]) -> list[str]:
        names = [index.document["name"] for index in indexes]
        self._calls.append((self._name, names))
        return names


class FakeDatabase:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def __getitem__(self, name: str) -> FakeCollection:
        return FakeCollection(name, self.calls)


async def test_each_index_is_created_by_a_command_of_its_own() -> None:
    db = FakeDatabase()
    indexes = {
        "products": [
            IndexModel([("category", ASCENDING)], name="category"),
            IndexModel([("created_at", ASCENDING)], name="created"),
        ],
        "changes": [IndexModel([("op_key", ASCENDING)], name="op_key_unique", unique=True)],
    }

    await create_indexes(cast(AsyncIOMotorDatabase[Any], db), indexes)

    assert db.calls == [
        ("products", ["category"]),
        ("products", ["created"]),
        ("changes", ["op_key_unique"]),
    ]
