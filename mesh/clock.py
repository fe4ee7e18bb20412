"""Time for the services: one clock type, and proto Timestamp conversion.

Use cases take a `Clock` through their constructor, so a test can hold time still
(`ManualClock`) and production passes `utc_now`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from google.protobuf import timestamp_pb2

__all__ = [
    "Clock",
    "ManualClock",
    "from_timestamp",
    "to_timestamp",
    "utc_now",
    "utc_now_ms",
    "utc_today",
]


class Clock(Protocol):
    """Returns the current time, timezone-aware in UTC."""

    def __call__(self) -> datetime: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_now_ms() -> datetime:
    """Now, to the millisecond: BSON dates keep milliseconds, so stored keys compare exactly."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def utc_today() -> date:
    return datetime.now(UTC).date()


class ManualClock:
    """A clock that moves only when told to (tests and simulations)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start time")
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += by
        return self._now


def to_timestamp(at: datetime) -> timestamp_pb2.Timestamp:
    """A proto Timestamp; a naive datetime is taken as UTC (how the stores return them)."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def from_timestamp(stamp: timestamp_pb2.Timestamp) -> datetime:
    """An aware UTC datetime from a proto Timestamp."""
    return stamp.ToDatetime(tzinfo=UTC)
