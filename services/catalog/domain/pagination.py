"""Opaque page tokens for ListProducts.

Products are listed by (created_at, id). A token holds the last key of the page it ends,
so the next page starts strictly after it: products created meanwhile sort after every
existing one and never shift a page that was already served.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from mesh.errors import FieldViolation, InvalidArgumentError


@dataclass(frozen=True, slots=True)
class PageCursor:
    created_at: datetime
    product_id: str
    # The category filter the token was issued for; a token is only valid for the same query.
    category: str

    def encode(self) -> str:
        payload = {
            "t": int(self.created_at.timestamp() * 1000),
            "i": self.product_id,
            "c": self.category,
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, category: str) -> PageCursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
            cursor = cls(
                created_at=datetime.fromtimestamp(int(payload["t"]) / 1000, tz=UTC),
                product_id=str(payload["i"]),
                category=str(payload["c"]),
            )
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise _bad_token("is not a token issued by this service") from exc
        if cursor.category != category:
            raise _bad_token("was issued for another category filter")
        return cursor


def _bad_token(description: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        "invalid page_token", violations=[FieldViolation("page_token", description)]
    )
