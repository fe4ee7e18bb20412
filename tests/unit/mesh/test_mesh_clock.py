"""Clocks and proto Timestamp conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf import timestamp_pb2

from mesh.clock import (
    Clock,
    ManualClock,
    from_timestamp,
    to_timestamp,
    utc_now,
    utc_now_ms,
    utc_today,
)


def test_now_is_aware_utc_and_the_ms_clock_drops_microseconds() -> None:
    before = datetime.now(UTC)
    now, now_ms = utc_now(), utc_now_ms()
    assert now.tzinfo is UTC and now_ms.tzinfo is UTC
    assert before <= now and now_ms.microsecond % 1000 == 0
    assert before - timedelta(milliseconds=1) <= now_ms <= datetime.now(UTC)
    assert utc_today() in {before.date(), datetime.now(UTC).date()}


def test_a_manual_clock_moves_only_forward_and_only_when_told() -> None:
    start = datetime(2026, 1, 31, 23, 59, tzinfo=UTC)
    clock: Clock = ManualClock(start)
    assert clock() == start and clock() == start
    assert isinstance(clock, ManualClock)
    assert clock.advance(timedelta(minutes=2)) == datetime(2026, 2, 1, 0, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 1, 1))


def test_timestamps_round_trip_to_the_microsecond() -> None:
    at = datetime(2026, 3, 1, 12, 0, 0, 654321, tzinfo=UTC)
    stamp = to_timestamp(at)
    assert isinstance(stamp, timestamp_pb2.Timestamp)
    assert (stamp.seconds, stamp.nanos) == (int(at.timestamp()), 654_321_000)
    assert from_timestamp(stamp) == at and from_timestamp(stamp).tzinfo is UTC


def test_a_naive_datetime_from_a_store_is_taken_as_utc() -> None:
    assert from_timestamp(to_timestamp(datetime(2026, 3, 1, 12))) == datetime(
        2026, 3, 1, 12, tzinfo=UTC
    )
