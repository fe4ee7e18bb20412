from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.user.domain.keys import KeyEntry, KeyRing, kid_created_at, new_kid
from services.user.domain.passwords import password_violations
from services.user.domain.sessions import RefreshToken, TokenState, state_of
from services.user.domain.throttle import Attempts, ThrottleRule, record_failure, retry_after

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
RULE = ThrottleRule(slowdown_after=3, lock_after=5, window_seconds=900, lock_seconds=600)


def test_a_good_password_has_no_violations() -> None:
    assert password_violations("correct horse 42", "ann@example.com") == []


def test_every_broken_rule_is_reported_on_the_field() -> None:
    violations = password_violations("annann", "annann@example.com")
    assert {v.field for v in violations} == {"password"}
    descriptions = " ".join(v.description for v in violations)
    assert "at least 10 characters" in descriptions
    assert "digit or symbol" in descriptions
    assert "e-mail" in descriptions


def _fail(times: int, at: datetime = NOW) -> Attempts | None:
    attempts = None
    for _ in range(times):
        attempts = record_failure(RULE, attempts, at)
    return attempts


def test_first_failures_cost_nothing_then_each_attempt_waits_longer() -> None:
    assert retry_after(RULE, _fail(2), NOW) == 0
    assert retry_after(RULE, _fail(3), NOW) == 1.0
    assert retry_after(RULE, _fail(4), NOW) == 2.0
    assert retry_after(RULE, _fail(4), NOW + timedelta(seconds=2)) == 0


def test_the_lock_after_too_many_failures_lasts_its_time() -> None:
    locked = _fail(5)
    assert retry_after(RULE, locked, NOW + timedelta(seconds=599)) == 1.0
    assert retry_after(RULE, locked, NOW + timedelta(seconds=600)) == 0


def test_old_failures_are_forgotten_after_the_window() -> None:
    later = NOW + timedelta(seconds=901)
    attempts = record_failure(RULE, _fail(4), later)
    assert attempts.failures == 1
    assert retry_after(RULE, attempts, later) == 0


def test_refresh_token_states() -> None:
    token = RefreshToken("h", "f", "u", NOW, NOW + timedelta(days=1))
    assert state_of(token, NOW) is TokenState.VALID
    assert state_of(token, NOW + timedelta(days=1)) is TokenState.EXPIRED
    assert state_of(RefreshToken("h", "f", "u", NOW, NOW, used_at=NOW), NOW) is TokenState.REPLAYED


def _ring(*ages_days: int) -> KeyRing[str]:
    entries = []
    for age in ages_days:
        created = NOW - timedelta(days=age)
        entries.append(KeyEntry(new_kid(created), created, f"key-{age}"))
    return KeyRing(tuple(sorted(entries, key=lambda e: e.kid)))


def test_kid_carries_its_creation_time() -> None:
    assert kid_created_at(new_kid(NOW)) == NOW
    assert kid_created_at("not-a-kid") is None


def test_the_newest_key_signs_and_a_retired_key_stays_published_until_its_tokens_expire() -> None:
    ring = _ring(40, 0)
    ttl = timedelta(minutes=15)
    active = ring.active(NOW)
    assert active is not None and active.key == "key-0"
    assert [e.key for e in ring.published(NOW, ttl)] == ["key-40", "key-0"]
    later = NOW + ttl + timedelta(seconds=1)
    assert [e.key for e in ring.published(later, ttl)] == ["key-0"]
    assert [e.key for e in ring.expired(later, ttl)] == ["key-40"]


def test_rotation_is_due_after_the_configured_age() -> None:
    assert _ring(31).needs_rotation(NOW, timedelta(days=30))
    assert not _ring(29).needs_rotation(NOW, timedelta(days=30))
    empty: KeyRing[str] = KeyRing(())
    assert empty.needs_rotation(NOW, timedelta(days=30))
