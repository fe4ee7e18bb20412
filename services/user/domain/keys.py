"""Which signing key is active and which public keys are still published.

A key's id starts with its creation time (`k20261127T020304Z-1a2b3c4d`), so ids sort by age
and the rules need no metadata beside the key files. The newest key signs. An older key is
published until every token it may have signed has expired: its successor's creation time
plus the access-token lifetime plus a margin for replicas that pick up the new key late.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

_KID = re.compile(r"^k(\d{8}T\d{6}Z)-[0-9a-f]{8}$")
_KID_TIME = "%Y%m%dT%H%M%SZ"

K = TypeVar("K")


def new_kid(now: datetime) -> str:
    return f"k{now.astimezone(UTC).strftime(_KID_TIME)}-{secrets.token_hex(4)}"


def kid_created_at(kid: str) -> datetime | None:
    match = _KID.match(kid)
    if match is None:
        return None
    return datetime.strptime(match.group(1), _KID_TIME).replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class KeyEntry(Generic[K]):
    kid: str
    created_at: datetime
    key: K


@dataclass(frozen=True, slots=True)
class KeyRing(Generic[K]):
    """Keys sorted oldest first."""

    entries: tuple[KeyEntry[K], ...]

    def active(self, now: datetime) -> KeyEntry[K] | None:
        ready = [entry for entry in self.entries if entry.created_at <= now]
        return ready[-1] if ready else None

    def published(self, now: datetime, keep_after_retirement: timedelta) -> list[KeyEntry[K]]:
        published: list[KeyEntry[K]] = []
        for entry, successor in zip(self.entries, [*self.entries[1:], None], strict=True):
            if successor is None or successor.created_at > now:
                published.append(entry)
            elif successor.created_at + keep_after_retirement > now:
                published.append(entry)
        return published

    def expired(self, now: datetime, keep_after_retirement: timedelta) -> list[KeyEntry[K]]:
        keep = {entry.kid for entry in self.published(now, keep_after_retirement)}
        return [entry for entry in self.entries if entry.kid not in keep]

    def needs_rotation(self, now: datetime, rotate_after: timedelta) -> bool:
        active = self.active(now)
        return active is None or active.created_at + rotate_after <= now
