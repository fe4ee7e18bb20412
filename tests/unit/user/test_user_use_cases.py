from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
)
from services.user.domain.model import UserChanges, UserRegistered, UserUpdated
from services.user.domain.throttle import LoginPolicy, ThrottleRule
from services.user.service_layer.accounts import Accounts
from services.user.service_layer.authentication import Authenticator, TokenSettings

from .fakes import Clock, FakeUserStore, PlainHasher, RecordingSigner

PASSWORD = "correct horse 42"
POLICY = LoginPolicy(
    account=ThrottleRule(slowdown_after=3, lock_after=5, window_seconds=900, lock_seconds=600),
    client=ThrottleRule(slowdown_after=10, lock_after=20, window_seconds=900, lock_seconds=600),
)


class World:
    def __init__(self) -> None:
        self.store = FakeUserStore()
        self.clock = Clock(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
        self.signer = RecordingSigner()
        self.accounts = Accounts(self.store, PlainHasher(), self.clock)
        self.auth = Authenticator(
            self.store,
            PlainHasher(),
            self.signer,
            TokenSettings("shopmesh", "shopmesh", timedelta(minutes=15), timedelta(days=14)),
            POLICY,
            {"order": hashlib.sha256(b"s3cret").hexdigest()},
            self.clock,
        )


def identity(subject: str, *roles: str) -> Identity:
    return Identity.from_claims(subject, frozenset(roles), "token")


@pytest.fixture
def world() -> World:
    return World()


async def test_register_creates_a_customer_and_records_the_event(world: World) -> None:
    user = await world.accounts.register(" Ann@Example.com ", PASSWORD, "Ann")
    assert user.email == "Ann@Example.com"
    assert user.roles == (rbac.CUSTOMER,)
    assert user.password_hash != PASSWORD
    assert world.store.events == [UserRegistered(user)]


async def test_email_is_unique_regardless_of_case(world: World) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann")
    with pytest.raises(AlreadyExistsError):
        await world.accounts.register("ANN@example.com", PASSWORD, "Other Ann")


async def test_weak_password_is_rejected_with_field_violations(world: World) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        await world.accounts.register("ann@example.com", "short", "Ann")
    assert {v.field for v in error.value.violations} == {"password"}


async def test_a_customer_sees_only_themselves(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann")
    bob = await world.accounts.register("bob@example.com", PASSWORD, "Bob")
    assert (await world.accounts.get(identity(ann.id, rbac.CUSTOMER), ann.id)) == ann
    with pytest.raises(NotFoundError):
        await world.accounts.get(identity(ann.id, rbac.CUSTOMER), bob.id)
    staff = identity("staff", rbac.CUSTOMER_SERVICE)
    assert (await world.accounts.get(staff, bob.id)) == bob


async def test_only_users_write_changes_roles(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann")
    with pytest.raises(PermissionDeniedError):
        await world.accounts.update(
            identity(ann.id, rbac.CUSTOMER), ann.id, UserChanges(roles=(rbac.ADMIN,))
        )
    admin = identity("root", rbac.ADMIN)
    updated = await world.accounts.update(admin, ann.id, UserChanges(roles=(rbac.ADMIN,)))
    assert updated.roles == (rbac.ADMIN,)
    assert updated.version == 2
    assert world.store.events[-1] == UserUpdated(updated)


async def test_owner_updates_own_display_name(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann")
    updated = await world.accounts.update(
        identity(ann.id, rbac.CUSTOMER), ann.id, UserChanges(display_name="Annie")
    )
    assert updated.display_name == "Annie"


async def test_list_pages_newest_first_and_needs_users_read(world: World) -> None:
    for index in range(5):
        world.clock.now += timedelta(seconds=1)
        await world.accounts.register(f"user{index}@example.com", PASSWORD, f"U{index}")
    with pytest.raises(PermissionDeniedError):
        await world.accounts.list(identity("x", rbac.CUSTOMER), 2, "", "")
    staff = identity("staff", rbac.CUSTOMER_SERVICE)
    first = await world.accounts.list(staff, 2, "", "")
    assert [u.email for u in first.users] == ["user4@example.com", "user3@example.com"]
    assert first.total_size == 5
    second = await world.accounts.list(staff, 2, first.next_page_token, "")
    assert [u.email for u in second.users] == ["user2@example.com", "user1@example.com"]
    with pytest.raises(InvalidArgumentError):
        await world.accounts.list(staff, 2, "garbage", "")


async def test_ensure_admin_creates_then_resets_password_and_role(world: World) -> None:
    admin = await world.accounts.ensure_admin("root@example.com", PASSWORD)
    assert admin.roles == (rbac.ADMIN,)
    again = await world.accounts.ensure_admin("root@example.com", "another pass 7")
    assert again.id == admin.id
    tokens, _ = await world.auth.login("root@example.com", "another pass 7", "10.0.0.1")
    assert tokens.refresh_token


async def test_login_issues_claims_and_refresh_rotates(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann")
    tokens, user = await world.auth.login("ANN@example.com", PASSWORD, "10.0.0.1")
    assert user == ann
    assert tokens.expires_in == 900
    claims = world.signer.signed[-1]
    assert claims["sub"] == ann.id and claims["roles"] == [rbac.CUSTOMER]
    assert claims["exp"] - claims["iat"] == 900
    assert {"iss", "aud"} <= claims.keys()
    rotated = await world.auth.refresh(tokens.refresh_token)
    assert rotated.refresh_token != tokens.refresh_token


async def test_reusing_a_refresh_token_revokes_the_family(world: World) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann")
    tokens, _ = await world.auth.login("ann@example.com", PASSWORD, "10.0.0.1")
    newer = await world.auth.refresh(tokens.refresh_token)
    with pytest.raises(UnauthenticatedError) as error:
        await world.auth.refresh(tokens.refresh_token)
    assert error.value.reason == "REFRESH_TOKEN_REUSED"
    with pytest.raises(UnauthenticatedError):
        await world.auth.refresh(newer.refresh_token)


async def test_logout_revokes_and_expired_tokens_fail(world: World) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann")
    tokens, _ = await world.auth.login("ann@example.com", PASSWORD, "10.0.0.1")
    await world.auth.logout(tokens.refresh_token)
    with pytest.raises(UnauthenticatedError):
        await world.auth.refresh(tokens.refresh_token)
    other, _ = await world.auth.login("ann@example.com", PASSWORD, "10.0.0.1")
    world.clock.now += timedelta(days=15)
    with pytest.raises(UnauthenticatedError) as error:
        await world.auth.refresh(other.refresh_token)
    assert error.value.reason == "INVALID_REFRESH_TOKEN"


async def test_unknown_email_and_wrong_password_fail_alike(world: World) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann")
    errors = []
    for email in ("ann@example.com", "nobody@example.com"):
        with pytest.raises(UnauthenticatedError) as error:
            await world.auth.login(email, "wrong password 1", "10.0.0.1")
        errors.append((error.value.message, error.value.reason))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("email", ["ann@example.com", "nobody@example.com"])
async def test_repeated_failures_slow_down_then_lock(world: World, email: str) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann")
    for _ in range(3):
        with pytest.raises(UnauthenticatedError):
            await world.auth.login(email, "wrong password 1", "10.0.0.1")
    # Slowed down: an immediate attempt is refused before the password is looked at.
    with pytest.raises(ResourceExhaustedError) as slowed:
        await world.auth.login(email, PASSWORD, "10.0.0.1")
    assert slowed.value.retry_after_seconds == 1.0
    for _ in range(2):
        world.clock.now += timedelta(seconds=30)
        with pytest.raises(UnauthenticatedError):
            await world.auth.login(email, "wrong password 1", "10.0.0.1")
    world.clock.now += timedelta(seconds=30)
    # Locked: even the right password is refused, and the same way for a missing account.
    with pytest.raises(ResourceExhaustedError) as locked:
        await world.auth.login(email, PASSWORD, "10.0.0.2")
    assert locked.value.reason == "LOGIN_THROTTLED"
    world.clock.now += timedelta(minutes=10)
    if email == "ann@example.com":
        tokens, _ = await world.auth.login(email, PASSWORD, "10.0.0.1")
        assert tokens.access_token


async def test_one_client_failing_on_many_accounts_is_locked(world: World) -> None:
    for index in range(20):
        world.clock.now += timedelta(seconds=31)
        with pytest.raises(UnauthenticatedError):
            await world.auth.login(f"user{index}@example.com", "wrong password 1", "10.6.6.6")
    world.clock.now += timedelta(seconds=31)
    with pytest.raises(ResourceExhaustedError):
        await world.auth.login("fresh@example.com", "wrong password 1", "10.6.6.6")


async def test_service_token_needs_the_configured_secret(world: World) -> None:
    token = world.auth.issue_service_token("order", "s3cret")
    assert token.expires_in == 900
    claims = world.signer.signed[-1]
    assert claims["sub"] == "service:order" and claims["roles"] == [rbac.SERVICE]
    for client_id, secret in (("order", "wrong"), ("nobody", "s3cret")):
        with pytest.raises(UnauthenticatedError):
            world.auth.issue_service_token(client_id, secret)
