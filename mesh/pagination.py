"""Opaque page tokens for keyset pagination.

A token holds where the previous page ended (the sort key of its last row) and a digest of
the query it answered: a token is only valid for the same filters and sort order, so a
client cannot splice one listing's position into another. Tokens are URL-safe base64 of a
small JSON document; they are opaque to clients, not secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeAlias, TypeVar

from mesh.errors import FieldViolation, InvalidArgumentError

__all__ = [
    "INSTANT_AND_ID",
    "InstantAndId",
    "PageTokenCodec",
    "Scalar",
    "from_micros",
    "invalid_page_token",
    "to_micros",
]

Scalar: TypeAlias = str | int | float | bool
Position = TypeVar("Position")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FOREIGN = "is not a token issued by this service"
_OTHER_QUERY = "was issued for another query (filters or sort order differ)"


class PageTokenCodec(Generic[Position]):
    """Turns a listing's position into a page token and back.

    `dump` gives the position's sort key as JSON scalars; `load` rebuilds the position from
    them and may raise ValueError, TypeError, KeyError or IndexError for a key it rejects.
    """

    def __init__(
        self,
        dump: Callable[[Position], Sequence[Scalar]],
        load: Callable[[Sequence[Scalar]], Position],
        *,
        field: str = "page_token",
    ) -> None:
        self._dump = dump
        self._load = load
        self._field = field

    def encode(self, position: Position | None, *, query: str = "") -> str:
        """The token of the page after `position`; "" when there is no next page."""
        if position is None:
            return ""
        document = {"q": _digest(query), "k": list(self._dump(position))}
        raw = json.dumps(document, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, token: str, *, query: str = "") -> Position | None:
        """The position a token continues from; None for "" (the first page).

        Raises InvalidArgumentError naming the field for a token this codec did not issue
        or one issued for another query.
        """
        if not token:
            return None
        try:
            document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            digest, key = document["q"], document["k"]
        except (binascii.Error, UnicodeError, ValueError, TypeError, KeyError):
            raise invalid_page_token(_FOREIGN, self._field) from None
        if not isinstance(key, list) or not key or not all(_is_scalar(v) for v in key):
            raise invalid_page_token(_FOREIGN, self._field)
        if digest != _digest(query):
            raise invalid_page_token(_OTHER_QUERY, self._field)
        try:
            return self._load(key)
        except (ValueError, TypeError, KeyError, IndexError, ArithmeticError):
            # ArithmeticError: a forged number beyond what a date or an int64 can hold.
            raise invalid_page_token(_FOREIGN, self._field) from None


@dataclass(frozen=True, slots=True)
class InstantAndId:
    """The usual keyset: a creation time, with the id breaking ties."""

    at: datetime
    id: str


def _dump_instant_and_id(position: InstantAndId) -> tuple[int, str]:
    return to_micros(position.at), position.id


def _load_instant_and_id(key: Sequence[Scalar]) -> InstantAndId:
    micros, identifier = key
    if not isinstance(identifier, str) or not identifier:
        raise ValueError("the id must be a non-empty string")
    return InstantAndId(from_micros(micros), identifier)


INSTANT_AND_ID: PageTokenCodec[InstantAndId] = PageTokenCodec(
    _dump_instant_and_id, _load_instant_and_id
)


def to_micros(at: datetime) -> int:
    """Microseconds since the epoch: exact for PostgreSQL and BSON times alike."""
    if at.tzinfo is None:
        raise ValueError("a page position needs an aware datetime")
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: Scalar) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("a page position's time is whole microseconds")
    return _EPOCH + timedelta(microseconds=value)


def invalid_page_token(description: str, field: str = "page_token") -> InvalidArgumentError:
    return InvalidArgumentError(
        "invalid page token",
        violations=[FieldViolation(field, description)],
        reason="INVALID_PAGE_TOKEN",
    )


def _digest(query: str) -> str:
    return hashlib.blake2b(query.encode(), digest_size=8).hexdigest()


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)
