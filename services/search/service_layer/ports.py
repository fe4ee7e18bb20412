"""What the search use cases need from the outside: the product index and the catalog.

`adapters.index.ProductIndex` (Elasticsearch) and `adapters.catalog.CatalogPages` (gRPC)
implement them; unit tests use fakes.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from ..domain.documents import Change, ProductFacts, Source


class IndexUnavailable(Exception):
    """The index is away or busy; the same write may be tried again later."""


class SearchBackend(Protocol):
    async def search(self, body: dict[str, Any]) -> dict[str, Any]:
        """Runs a query body of `domain.query`; UnavailableError when the index is away."""


class IndexWriter(Protocol):
    async def apply(self, product_id: str, change: Change) -> None:
        """Applies `change` to the product's document in every index being written.

        Raises IndexUnavailable when the index is away or busy.
        """

    async def apply_many(self, changes: Sequence[tuple[str, Change]]) -> None:
        """Applies each change (one per product) like `apply`, in one round of writes.

        Raises IndexUnavailable when the index is away or busy; applying them all again is
        harmless (changes are idempotent by version).
        """


class SearchIndex(abc.ABC):
    """The alias searches read, and the indices behind it that a reindex replaces."""

    @abc.abstractmethod
    async def ensure(self) -> bool:
        """Creates a first (empty) index behind the alias when there is none; True if it did."""

    @abc.abstractmethod
    async def write_targets(self) -> list[str]:
        """The indices event writes go to (behind the alias or being built)."""

    @abc.abstractmethod
    async def create_building(self) -> str:
        """A new, empty index that receives event writes while it is filled."""

    @abc.abstractmethod
    async def load(self, index: str, changes: Sequence[tuple[str, Change]]) -> None: ...

    @abc.abstractmethod
    async def apply_to(self, index: str, product_id: str, change: Change) -> None: ...

    @abc.abstractmethod
    def scan(self, index: str, query: dict[str, Any]) -> AsyncIterator[Source]: ...

    @abc.abstractmethod
    async def refresh(self, index: str) -> None: ...

    @abc.abstractmethod
    async def swap(self, new_index: str) -> None:
        """Moves the alias to `new_index` in one step."""

    @abc.abstractmethod
    async def delete(self, index: str) -> None: ...

    @abc.abstractmethod
    async def delete_unused(self) -> list[str]:
        """Deletes the indices no alias points at; returns their names."""


class CatalogProducts(Protocol):
    def pages(self, page_size: int) -> AsyncIterator[list[ProductFacts]]:
        """Every product of the catalog, a page at a time."""
