"""The product index on Elasticsearch: one alias to read, indices behind it, conditional writes.

Searches read through the alias `<alias>`; a reindex builds a new index `<alias>_v<stamp>`
that carries the alias `<alias>_building` meanwhile, and event writes go to every index
holding either alias, so the new index misses nothing that happens while it is built.

Writes are read-modify-write with optimistic concurrency (`if_seq_no`/`if_primary_term`,
retried on conflict): the distribution has no scripting, and three independently versioned
streams feed one document, which external versioning cannot express.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    BadRequestError,
    ConflictError,
    NotFoundError,
    TransportError,
)

from mesh.errors import UnavailableError

from ..domain.documents import Change, Source
from ..service_layer.ports import IndexUnavailable, SearchIndex
from .mapping import MAPPINGS, SETTINGS

logger = logging.getLogger(__name__)

MAX_WRITE_ATTEMPTS = 20


def connect(url: str) -> AsyncElasticsearch:
    """A client that retries what a busy or recovering node answers (429, 502-504)."""
    return AsyncElasticsearch(
        url,
        retry_on_status=(429, 502, 503, 504),
        retry_on_timeout=True,
        max_retries=5,
        request_timeout=30,
    )


class ProductIndex(SearchIndex):
    def __init__(self, es: AsyncElasticsearch, alias: str) -> None:
        self._es = es
        self.alias = alias
        self.building_alias = f"{alias}_building"
        self._pattern = f"{alias}_v*"

    # --- layout ---------------------------------------------------------------------------

    async def ensure(self) -> bool:
        """Creates a first (empty) index behind the alias when there is none; True if it did.

        The first index has a fixed name, so replicas starting together create it once.
        """
        if await self._es.indices.exists_alias(name=self.alias):
            # Indices made before SETTINGS dropped its refresh interval get the default too.
            await self._es.indices.put_settings(
                index=self.alias, settings={"index": {"refresh_interval": None}}
            )
            return False
        try:
            await self._es.indices.create(
                index=f"{self.alias}_v0",
                settings=SETTINGS,
                mappings=MAPPINGS,
                aliases={self.alias: {}},
            )
        except BadRequestError as error:
            if _error_type(error) != "resource_already_exists_exception":
                raise
            return False
        await self._wait_until_writable(f"{self.alias}_v0")
        return True

    async def create_building(self) -> str:
        name = f"{self.alias}_v{time.strftime('%Y%m%d%H%M%S')}{random.randrange(10**6):06d}"
        await self._es.indices.create(
            index=name, settings=SETTINGS, mappings=MAPPINGS, aliases={self.building_alias: {}}
        )
        await self._wait_until_writable(name)
        return name

    async def _wait_until_writable(self, index: str) -> None:
        # A slow node may answer the create before the primary shard has started.
        await self._es.cluster.health(index=index, wait_for_status="yellow", timeout="60s")

    async def swap(self, new_index: str) -> None:
        """One atomic step: the alias moves to `new_index`, which stops being 'building'."""
        await self._es.indices.update_aliases(
            actions=[
                {"remove": {"index": self._pattern, "alias": self.alias, "must_exist": False}},
                {"add": {"index": new_index, "alias": self.alias}},
                {"remove": {"index": new_index, "alias": self.building_alias}},
            ]
        )

    async def delete_unused(self) -> list[str]:
        """Deletes the indices that hold neither alias (replaced or abandoned ones)."""
        unused = [
            name
            for name, entry in (await self._indices()).items()
            if not {self.alias, self.building_alias} & set(entry)
        ]
        if unused:
            await self._es.indices.delete(index=",".join(unused), ignore_unavailable=True)
        return unused

    async def delete(self, index: str) -> None:
        await self._es.indices.delete(index=index, ignore_unavailable=True)

    async def refresh(self, index: str) -> None:
        await self._es.indices.refresh(index=index)

    async def _indices(self) -> dict[str, list[str]]:
        """Every index of this alias family, with the aliases it holds."""
        found = await self._es.indices.get_alias(index=self._pattern)
        return {name: list(entry.get("aliases", {})) for name, entry in found.body.items()}

    async def write_targets(self) -> list[str]:
        return [
            name
            for name, aliases in (await self._indices()).items()
            if {self.alias, self.building_alias} & set(aliases)
        ]

    # --- writes ---------------------------------------------------------------------------

    async def apply(self, product_id: str, change: Change) -> None:
        """Applies `change` to the product's document in every index being written."""
        try:
            targets = await self.write_targets()
            if not targets:
                raise RuntimeError(f"no index behind {self.alias}; the service creates it at start")
            for index in targets:
                await self.apply_to(index, product_id, change)
        except (TransportError, ApiError) as error:
            if isinstance(error, ApiError) and not _busy_or_down(error.meta.status):
                raise
            raise IndexUnavailable(str(error)) from error

    async def apply_many(self, changes: Sequence[tuple[str, Change]]) -> None:
        """Applies one change per product to every index being written: one read of the
        documents and one bulk of conditional writes per index (conflicts go one by one)."""
        try:
            targets = await self.write_targets()
            if not targets:
                raise RuntimeError(f"no index behind {self.alias}; the service creates it at start")
            for index in targets:
                await self.apply_many_to(index, changes)
        except (TransportError, ApiError) as error:
            if isinstance(error, ApiError) and not _busy_or_down(error.meta.status):
                raise
            raise IndexUnavailable(str(error)) from error

    async def apply_many_to(self, index: str, changes: Sequence[tuple[str, Change]]) -> None:
        try:
            stored = await self._es.mget(index=index, ids=[pid for pid, _ in changes])
        except NotFoundError as error:
            if _index_missing(error):
                return  # replaced and deleted meanwhile: nothing reads it any more
            raise
        operations: list[dict[str, Any]] = []
        written: list[tuple[str, Change]] = []
        for (product_id, change), found in zip(changes, stored["docs"], strict=True):
            if found.get("error"):
                if _missing_index_item(found):
                    return  # replaced and deleted meanwhile
                raise RuntimeError(f"reading {product_id} from {index} failed: {found['error']}")
            current = found["_source"] if found.get("found") else None
            updated = change(current)
            if updated is None:
                continue  # nothing the index shows would change: no write at all
            if current is None:
                operations.append({"create": {"_index": index, "_id": product_id}})
            else:
                operations.append(
                    {
                        "index": {
                            "_index": index,
                            "_id": product_id,
                            "if_seq_no": found["_seq_no"],
                            "if_primary_term": found["_primary_term"],
                        }
                    }
                )
            operations.append(updated)
            written.append((product_id, change))
        if not operations:
            return
        response = await self._es.bulk(operations=operations)
        if not response["errors"]:
            return
        for item, (product_id, change) in zip(response["items"], written, strict=True):
            outcome = next(iter(item.values()))
            status = outcome["status"]
            if status == 409:
                # Written by someone else since the read: read again, apply again.
                await self.apply_to(index, product_id, change)
            elif _missing_index_item(outcome):
                continue
            elif status >= 300:
                if _busy_or_down(status):
                    raise IndexUnavailable(f"indexing {product_id}: {outcome.get('error')}")
                raise RuntimeError(f"indexing {product_id} failed: {outcome.get('error')}")

    async def apply_to(self, index: str, product_id: str, change: Change) -> None:
        for _ in range(MAX_WRITE_ATTEMPTS):
            try:
                stored = await self._es.get(index=index, id=product_id)
            except NotFoundError as error:
                if _index_missing(error):
                    return  # replaced and deleted meanwhile: nothing reads it any more
                current, seq = None, None
            else:
                current, seq = stored["_source"], (stored["_seq_no"], stored["_primary_term"])
            updated = change(current)
            if updated is None:
                return
            try:
                if seq is None:
                    await self._es.create(index=index, id=product_id, document=updated)
                else:
                    await self._es.index(
                        index=index,
                        id=product_id,
                        document=updated,
                        if_seq_no=seq[0],
                        if_primary_term=seq[1],
                    )
                return
            except ConflictError:
                await asyncio.sleep(random.uniform(0, 0.01))
        raise RuntimeError(f"product {product_id} in {index} kept changing; giving up")

    async def load(self, index: str, changes: Sequence[tuple[str, Change]]) -> None:
        """Bulk-creates each product's document as `change` makes it from nothing; where an
        event created the document meanwhile, `change` is applied to it instead."""
        documents = [(pid, change, change(None)) for pid, change in changes]
        operations: list[dict[str, Any]] = []
        for product_id, _, source in documents:
            operations += [{"create": {"_index": index, "_id": product_id}}, source or {}]
        if not operations:
            return
        response = await self._es.bulk(operations=operations)
        for item, (product_id, change, _) in zip(response["items"], documents, strict=True):
            status = item["create"]["status"]
            if status == 409:
                await self.apply_to(index, product_id, change)
            elif status >= 300:
                raise RuntimeError(f"indexing {product_id} failed: {item['create'].get('error')}")

    async def scan(self, index: str, query: dict[str, Any]) -> AsyncIterator[Source]:
        """Every matching document of `index`, in id order (search_after paging)."""
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"query": query, "sort": [{"id": "asc"}], "size": 500}
            if after is not None:
                body["search_after"] = after
            response = await self._es.search(index=index, **body)
            hits = response["hits"]["hits"]
            for hit in hits:
                yield hit["_source"]
            if len(hits) < 500:
                return
            after = hits[-1]["sort"]

    # --- reads ----------------------------------------------------------------------------

    async def search(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._es.search(index=self.alias, **body)
        except (TransportError, ApiError) as error:
            if isinstance(error, ApiError) and error.meta.status < 429:
                raise  # a query this service built wrongly: a bug, logged as INTERNAL
            raise UnavailableError(
                "search is unavailable right now", reason="SEARCH_BACKEND_UNAVAILABLE"
            ) from error
        return dict(response.body)

    async def ping(self) -> None:
        if not await self._es.indices.exists_alias(name=self.alias):
            raise RuntimeError(f"no index behind the alias {self.alias}")


def _busy_or_down(status: int) -> bool:
    return status == 429 or status >= 500


def _missing_index_item(outcome: dict[str, Any]) -> bool:
    """A bulk or mget item refused because its index is gone."""
    error = outcome.get("error")
    return isinstance(error, dict) and error.get("type") == "index_not_found_exception"


def _index_missing(error: NotFoundError) -> bool:
    return _error_type(error) == "index_not_found_exception"


def _error_type(error: ApiError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    cause = body.get("error")
    return str(cause.get("type", "")) if isinstance(cause, dict) else ""
