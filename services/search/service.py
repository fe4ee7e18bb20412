"""Search use cases: searching and suggesting through the alias."""

from __future__ import annotations

from typing import Any, Protocol

from services.search.domain.query import (
    Results,
    SearchParams,
    results_of,
    search_body,
    suggest_body,
    suggestions_of,
)

DEFAULT_SUGGESTIONS = 5


class SearchBackend(Protocol):
    async def search(self, body: dict[str, Any]) -> dict[str, Any]: ...


class SearchService:
    def __init__(self, backend: SearchBackend) -> None:
        self._backend = backend

    async def search(self, params: SearchParams) -> Results:
        return results_of(params, await self._backend.search(search_body(params)))

    async def suggest(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        wanted = limit or DEFAULT_SUGGESTIONS
        response = await self._backend.search(suggest_body(prefix, wanted))
        return suggestions_of(response, wanted)
