"""Search use cases: searching and suggesting through the alias (public reads)."""

from __future__ import annotations

from typing import Any

from ..domain.query import (
    Results,
    SearchParams,
    results_of,
    search_body,
    suggest_body,
    suggestions_of,
    typed_prefix,
)
from .ports import SearchBackend

DEFAULT_SUGGESTIONS = 5


class SearchService:
    def __init__(self, backend: SearchBackend) -> None:
        self._backend = backend

    async def search(self, params: SearchParams) -> Results:
        return results_of(params, await self._backend.search(search_body(params)))

    async def suggest(self, prefix: str, limit: int) -> list[dict[str, Any]]:
        wanted = limit or DEFAULT_SUGGESTIONS
        if not typed_prefix(prefix).strip():
            return []
        response = await self._backend.search(suggest_body(prefix, wanted))
        return suggestions_of(response, wanted)
