"""Failed-login throttling: slow down, then lock for a while.

Counters are kept per account (the e-mail as typed, lower-cased, whether or not such a user
exists, so the answer never tells who has an account) and per client address. Below
`slowdown_after` failures nothing happens; from there each further attempt must wait an
exponentially growing delay after the previous failure; at `lock_after` failures the key is
locked for `lock_seconds`. Counters forget failures older than `window_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    slowdown_after: int
    lock_after: int
    window_seconds: float
    lock_seconds: float
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 30.0

    def delay_after(self, failures: int) -> float:
        if failures < self.slowdown_after:
            return 0.0
        delay = self.base_delay_seconds * 2 ** (failures - self.slowdown_after)
        return float(min(delay, self.max_delay_seconds))


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    account: ThrottleRule
    client: ThrottleRule


@dataclass(frozen=True, slots=True)
class Attempts:
    """What the store keeps for one throttle key."""

    failures: int
    window_started_at: datetime
    last_failure_at: datetime
    locked_until: datetime | None = None


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()


def client_key(client: str) -> str:
    return "client:" + client


def retry_after(rule: ThrottleRule, attempts: Attempts | None, now: datetime) -> float:
    """Seconds the caller must still wait before an attempt is checked (0: go ahead)."""
    if attempts is None:
        return 0.0
    if attempts.locked_until is not None and attempts.locked_until > now:
        return (attempts.locked_until - now).total_seconds()
    if _window_expired(rule, attempts, now):
        return 0.0
    ready_at = attempts.last_failure_at + timedelta(seconds=rule.delay_after(attempts.failures))
    return max(0.0, (ready_at - now).total_seconds())


def record_failure(rule: ThrottleRule, attempts: Attempts | None, now: datetime) -> Attempts:
    if attempts is None or _window_expired(rule, attempts, now):
        attempts = Attempts(failures=0, window_started_at=now, last_failure_at=now)
    failures = attempts.failures + 1
    locked_until = attempts.locked_until
    if failures >= rule.lock_after:
        locked_until = now + timedelta(seconds=rule.lock_seconds)
        # A lock starts a fresh window: after it the caller gets a few plain attempts again.
        return Attempts(0, now, now, locked_until)
    return Attempts(failures, attempts.window_started_at, now, locked_until)


def _window_expired(rule: ThrottleRule, attempts: Attempts, now: datetime) -> bool:
    return now - attempts.window_started_at > timedelta(seconds=rule.window_seconds)
