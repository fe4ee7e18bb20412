"""The platform for the schemathesis run: the e2e platform (`shop_platform`), with limits that
would otherwise turn a fuzzing run into a wall of 429s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The gateway's rate limits (per client address, per user, on login) and the user service's
# login throttle and sign-up limit are tested in tests/e2e and tests/integration; here thousands
# of requests come from one address and one token within minutes, and failed logins would
# otherwise be slowed down past the gateway's deadline.
UNLIMITED = "1000000"
LIMIT_VARIABLES = (
    "GATEWAY_RATE_LIMIT_PER_MINUTE",
    "GATEWAY_USER_RATE_LIMIT_PER_MINUTE",
    "GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE",
    "LOGIN_ACCOUNT_SLOWDOWN_AFTER",
    "LOGIN_ACCOUNT_LOCK_AFTER",
    "LOGIN_CLIENT_SLOWDOWN_AFTER",
    "LOGIN_CLIENT_LOCK_AFTER",
    "SIGN_UP_LIMIT_PER_CLIENT",
)
# Every fuzzed register and login hashes a password: the production argon2 cost (64 MiB, three
# passes) on a two-core CI machine pushed logins past the gateway's deadline. The cost itself is
# covered by the user service's tests.
FAST_PASSWORD_HASHING = {
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_COST": "8192",
    "ARGON2_PARALLELISM": "1",
}


@pytest.fixture(scope="session", autouse=True)
def without_rate_limits() -> Iterator[None]:
    """Set before `shop_platform` starts the gateway (autouse fixtures come first)."""
    with pytest.MonkeyPatch.context() as patch:
        for variable in LIMIT_VARIABLES:
            patch.setenv(variable, UNLIMITED)
        for variable, value in FAST_PASSWORD_HASHING.items():
            patch.setenv(variable, value)
        yield
