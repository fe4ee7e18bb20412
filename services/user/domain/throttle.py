"""Failed-login throttling that slows down whoever fails, and nobody else.

Three counters per failure:
- the account from this client address (`source_key`: the e-mail as typed, lower-cased,
  whether or not such a user exists, so the answer never tells who has an account; and the
  client address),
- the client address over every account (`client_key`),
- the account over every client address (`account_key`).

Only the first two can refuse an attempt, and both count only the caller's own failures: an
attacker slows down themselves, while the owner signing in from another address is never
refused, and a correct password is never refused because others failed. The account-wide
count decides two things instead: the owner is told by mail once it reaches `alert_after`,
and from `under_attack_after` on (many addresses guessing one password each) every address
is slowed from its first failure on that account.

A rule: below `slowdown_after` failures nothing happens; from there each further attempt must
wait an exponentially growing delay after the previous failure; at `lock_after` failures the
key is locked for `lock_seconds`. Counters forget failures older than `window_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    # One account from one client address.
    account: ThrottleRule
    # One client address over every account.
    client: ThrottleRule
    # Failures on one account from every address: the owner is mailed at this count ...
    alert_after: int = 5
    # ... and from this count every address slows down from its first failure.
    under_attack_after: int = 20

    def account_wide(self) -> ThrottleRule:
        """The account-wide counter never refuses by itself: it has no delay and no lock."""
        return ThrottleRule(
            slowdown_after=2**31 - 1,
            lock_after=2**31 - 1,
            window_seconds=self.account.window_seconds,
            lock_seconds=0,
        )

    def source_rule(self, account_wide: Attempts | None, now: datetime) -> ThrottleRule:
        """The rule for one account from one address, tighter while the account is attacked."""
        failures = 0
        if account_wide is not None and not _window_expired(self.account, account_wide, now):
            failures = account_wide.failures
        if failures >= self.under_attack_after:
            return replace(self.account, slowdown_after=1)
        return self.account


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


def source_key(email: str, client: str) -> str:
    return f"{account_key(email)}|{client_key(client)}"


def signup_key(client: str) -> str:
    return "signup:" + client


def signup_rule(limit: int, window_seconds: float) -> ThrottleRule:
    """`limit` sign-ups per client address, then none until the window has passed."""
    return ThrottleRule(
        slowdown_after=limit,
        lock_after=limit,
        window_seconds=window_seconds,
        lock_seconds=window_seconds,
    )


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
