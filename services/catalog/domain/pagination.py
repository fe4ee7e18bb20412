"""Where a ListProducts page ended.

Products are listed by (created_at, id). A token holds the last key of the page it ends,
so the next page starts strictly after it: products created meanwhile sort after every
existing one and never shift a page that was already served. A token is only valid for the
category filter it was issued for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mesh.pagination import INSTANT_AND_ID, InstantAndId


@dataclass(frozen=True, slots=True)
class PageCursor:
    created_at: datetime
    product_id: str
    category: str

    def encode(self) -> str:
        return INSTANT_AND_ID.encode(
            InstantAndId(self.created_at, self.product_id), query=self.category
        )

    @classmethod
    def decode(cls, token: str, category: str) -> PageCursor:
        """INVALID_ARGUMENT for a foreign token or one issued for another category."""
        position = INSTANT_AND_ID.decode(token, query=category)
        assert position is not None, "callers decode only non-empty tokens"
        return cls(position.at, position.id, category)
