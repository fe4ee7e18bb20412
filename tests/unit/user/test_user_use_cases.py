from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
)
from services.user.domain.model import (
    SignInFailuresDetected,
    SignUpWithExistingEmail,
    UserChanges,
    UserRegistered,
    UserUpdated,
)
from services.user.domain.throttle import LoginPolicy, ThrottleRule, signup_rule
from services.user.domain.verification import VerificationLinks
from services.user.service_layer.accounts import Accounts, SignUpRules
from services.user.service_layer.authentication import Authenticator, TokenSettings

from .fakes import (
    Clock,
    FakeUserStore,
    ListScreen,
    PlainHasher,
    RecordingRevocations,
    RecordingSigner,
)

PASSWORD = "correct horse 42"
CLIENT = "203.0.113.9"
POLICY = LoginPolicy(
    account=ThrottleRule(slowdown_after=3, lock_after=5, window_seconds=900, lock_seconds=600),
    client=ThrottleRule(slowdown_after=10, lock_after=20, window_seconds=900, lock_seconds=600),
    alert_after=5,
    under_attack_after=8,
)
LINKS = VerificationLinks(
    base_url="https://shop.example.com/",
    ttl=timedelta(days=2),
    issuer="shopmesh",
    audience="shopmesh",
)


class World:
    def __init__(self) -> None:
        self.store = FakeUserStore()
        self.clock = Clock(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
        self.signer = RecordingSigner()
        self.revocations = RecordingRevocations()
        self.accounts = Accounts(
            self.store,
            PlainHasher(),
            ListScreen("Password1!", "Summer2024!"),
            self.signer,
            SignUpRules(LINKS, signup_rule(limit=3, window_seconds=3600)),
            self.clock,
        )
        self.auth = Authenticator(
            self.store,
            PlainHasher(),
            self.signer,
            TokenSettings("shopmesh", "shopmesh", timedelta(minutes=15), timedelta(days=14)),
            POLICY,
            {"order": hashlib.sha256(b"s3cret").hexdigest()},
            self.revocations,
            self.clock,
        )


def identity(subject: str, *roles: str, token: str = "token") -> Identity:
    return Identity.from_claims(subject, frozenset(roles), token)


@pytest.fixture
def world() -> World:
    return World()


async def test_register_creates_a_customer_and_records_the_event(world: World) -> None:
    user = await world.accounts.register(" Ann@Example.com ", PASSWORD, "Ann", CLIENT)
    assert user.email == "Ann@Example.com"
    assert user.roles == (rbac.CUSTOMER,)
    assert user.password_hash != PASSWORD
    assert not user.email_verified
    [event] = world.store.events
    assert isinstance(event, UserRegistered) and event.user == user
    assert event.verification_url.startswith("https://shop.example.com/v1/users:verifyEmail?token=")


async def test_signing_up_with_a_taken_email_answers_alike_and_tells_the_owner(
    world: World,
) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    again = await world.accounts.register("ANN@example.com", PASSWORD, "Other Ann", "10.0.0.7")
    # The same shape as a new account: a fresh id that names nobody, the address as typed.
    assert again.id != ann.id and again.email == "ANN@example.com"
    assert again.roles == (rbac.CUSTOMER,) and not again.email_verified
    assert await world.store.get_user(again.id) is None
    assert list(world.store.users) == [ann.id]
    assert world.store.events[-1] == SignUpWithExistingEmail(ann, world.clock.now)


async def test_the_verification_link_verifies_the_address_it_was_sent_to(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    [registered] = world.store.events
    assert isinstance(registered, UserRegistered)
    token = registered.verification_url.split("token=", 1)[1]
    await world.accounts.verify_email(token)
    verified = await world.accounts.get(identity(ann.id, rbac.CUSTOMER), ann.id)
    assert verified.email_verified and verified.version == 2
    await world.accounts.verify_email(token)  # twice is fine
    # A new address is unverified again, and the old link does not verify it.
    changed = await world.accounts.update(
        identity(ann.id, rbac.CUSTOMER), ann.id, UserChanges(email="ann@new.example.com")
    )
    assert not changed.email_verified
    with pytest.raises(InvalidArgumentError) as error:
        await world.accounts.verify_email(token)
    assert [v.field for v in error.value.violations] == ["token"]


@pytest.mark.parametrize("token", ["", "garbage", "h.e30.s1"])
async def test_a_forged_or_foreign_verification_token_is_refused(world: World, token: str) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        await world.accounts.verify_email(token)
    assert error.value.reason == "INVALID_VERIFICATION_TOKEN"


async def test_an_access_token_is_not_a_verification_token(world: World) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    tokens, _ = await world.auth.login("ann@example.com", PASSWORD, CLIENT)
    with pytest.raises(InvalidArgumentError):
        await world.accounts.verify_email(tokens.access_token)


async def test_an_expired_verification_link_is_refused(world: World) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    [registered] = world.store.events
    assert isinstance(registered, UserRegistered)
    world.clock.now += timedelta(days=2, seconds=1)
    with pytest.raises(InvalidArgumentError):
        await world.accounts.verify_email(registered.verification_url.split("token=", 1)[1])


async def test_sign_ups_are_limited_per_client_address(world: World) -> None:
    for index in range(3):
        await world.accounts.register(f"u{index}@example.com", PASSWORD, "U", CLIENT)
    with pytest.raises(ResourceExhaustedError) as error:
        await world.accounts.register("u9@example.com", PASSWORD, "U", CLIENT)
    assert error.value.reason == "SIGN_UP_THROTTLED"
    assert await world.store.find_by_email("u9@example.com") is None
    await world.accounts.register("u9@example.com", PASSWORD, "U", "10.0.0.8")
    world.clock.now += timedelta(hours=1, seconds=1)
    await world.accounts.register("u10@example.com", PASSWORD, "U", CLIENT)


async def test_common_passwords_are_refused_with_the_reason(world: World) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        await world.accounts.register("ann@example.com", "Password1!", "Ann", CLIENT)
    [violation] = error.value.violations
    assert violation.field == "password" and "common" in violation.description
    assert world.store.events == []


async def test_weak_password_is_rejected_with_field_violations(world: World) -> None:
    with pytest.raises(InvalidArgumentError) as error:
        await world.accounts.register("ann@example.com", "short", "Ann", CLIENT)
    assert {v.field for v in error.value.violations} == {"password"}


async def test_a_customer_sees_only_themselves(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    bob = await world.accounts.register("bob@example.com", PASSWORD, "Bob", CLIENT)
    assert (await world.accounts.get(identity(ann.id, rbac.CUSTOMER), ann.id)) == ann
    with pytest.raises(NotFoundError):
        await world.accounts.get(identity(ann.id, rbac.CUSTOMER), bob.id)
    staff = identity("staff", rbac.CUSTOMER_SERVICE)
    assert (await world.accounts.get(staff, bob.id)) == bob


async def test_only_users_write_changes_roles(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
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
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    updated = await world.accounts.update(
        identity(ann.id, rbac.CUSTOMER), ann.id, UserChanges(display_name="Annie")
    )
    assert updated.display_name == "Annie"


async def test_list_pages_newest_first_and_needs_users_read(world: World) -> None:
    for index in range(5):
        world.clock.now += timedelta(seconds=1)
        await world.accounts.register(
            f"user{index}@example.com", PASSWORD, f"U{index}", f"10.9.0.{index}"
        )
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
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
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
    await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    tokens, _ = await world.auth.login("ann@example.com", PASSWORD, "10.0.0.1")
    newer = await world.auth.refresh(tokens.refresh_token)
    with pytest.raises(UnauthenticatedError) as error:
        await world.auth.refresh(tokens.refresh_token)
    assert error.value.reason == "REFRESH_TOKEN_REUSED"
    with pytest.raises(UnauthenticatedError):
        await world.auth.refresh(newer.refresh_token)


async def test_logout_revokes_and_expired_tokens_fail(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    tokens, _ = await world.auth.login("ann@example.com", PASSWORD, "10.0.0.1")
    caller = identity(ann.id, rbac.CUSTOMER, token=tokens.access_token)
    await world.auth.logout(caller, tokens.refresh_token)
    with pytest.raises(UnauthenticatedError):
        await world.auth.refresh(tokens.refresh_token)
    other, _ = await world.auth.login("ann@example.com", PASSWORD, "10.0.0.1")
    world.clock.now += timedelta(days=15)
    with pytest.raises(UnauthenticatedError) as error:
        await world.auth.refresh(other.refresh_token)
    assert error.value.reason == "INVALID_REFRESH_TOKEN"


async def test_logout_revokes_the_sessions_access_tokens_for_their_lifetime(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    tokens, _ = await world.auth.login("ann@example.com", PASSWORD, "10.0.0.1")
    session = world.signer.signed[-1]["sid"]
    caller = identity(ann.id, rbac.CUSTOMER, token=tokens.access_token)
    await world.auth.logout(caller, tokens.refresh_token)
    assert world.revocations.revoked == {session: timedelta(minutes=15)}


async def test_logout_leaves_someone_elses_session_alone(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    await world.accounts.register("bob@example.com", PASSWORD, "Bob", CLIENT)
    ann_tokens, _ = await world.auth.login("ann@example.com", PASSWORD, "10.0.0.1")
    ann_session = world.signer.signed[-1]["sid"]
    bob_tokens, _ = await world.auth.login("bob@example.com", PASSWORD, "10.0.0.2")
    bob_session = world.signer.signed[-1]["sid"]
    await world.auth.logout(
        identity(ann.id, rbac.CUSTOMER, token=ann_tokens.access_token), bob_tokens.refresh_token
    )
    # Bob's session lives on; Ann, who asked to sign out, is signed out of her own.
    assert (await world.auth.refresh(bob_tokens.refresh_token)).access_token
    assert bob_session not in world.revocations.revoked
    assert ann_session in world.revocations.revoked


async def test_refresh_token_reuse_revokes_the_sessions_access_tokens(world: World) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    tokens, _ = await world.auth.login("ann@example.com", PASSWORD, "10.0.0.1")
    session = world.signer.signed[-1]["sid"]
    newer = await world.auth.refresh(tokens.refresh_token)
    assert world.signer.signed[-1]["sid"] == session and newer.access_token
    with pytest.raises(UnauthenticatedError):
        await world.auth.refresh(tokens.refresh_token)
    assert session in world.revocations.revoked


async def test_unknown_email_and_wrong_password_fail_alike(world: World) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    errors = []
    for email in ("ann@example.com", "nobody@example.com"):
        with pytest.raises(UnauthenticatedError) as error:
            await world.auth.login(email, "wrong password 1", "10.0.0.1")
        errors.append((error.value.message, error.value.reason))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("email", ["ann@example.com", "nobody@example.com"])
async def test_repeated_failures_slow_down_then_lock_only_the_failing_address(
    world: World, email: str
) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
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
    # Locked for this address: even the right password, the same way for a missing account.
    with pytest.raises(ResourceExhaustedError) as locked:
        await world.auth.login(email, PASSWORD, "10.0.0.1")
    assert locked.value.reason == "LOGIN_THROTTLED"
    # The owner elsewhere is not refused: the password is checked.
    if email == "ann@example.com":
        tokens, _ = await world.auth.login(email, PASSWORD, "10.0.0.2")
        assert tokens.access_token
    else:
        with pytest.raises(UnauthenticatedError):
            await world.auth.login(email, PASSWORD, "10.0.0.2")
    world.clock.now += timedelta(minutes=10)
    if email == "ann@example.com":
        tokens, _ = await world.auth.login(email, PASSWORD, "10.0.0.1")
        assert tokens.access_token


async def test_twenty_failures_from_one_address_do_not_stop_the_owner_elsewhere(
    world: World,
) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    for _ in range(20):
        world.clock.now += timedelta(seconds=31)
        try:
            await world.auth.login("ann@example.com", "wrong password 1", "10.6.6.6")
        except (UnauthenticatedError, ResourceExhaustedError):
            pass
    tokens, user = await world.auth.login("ann@example.com", PASSWORD, "10.0.0.2")
    assert tokens.access_token and user.email == "ann@example.com"


async def test_the_owner_is_told_once_when_failures_pile_up(world: World) -> None:
    ann = await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    for index in range(7):
        with pytest.raises(UnauthenticatedError):
            await world.auth.login("ann@example.com", "wrong password 1", f"10.7.0.{index}")
    alerts = [e for e in world.store.events if isinstance(e, SignInFailuresDetected)]
    assert alerts == [SignInFailuresDetected(ann, 5, 900, world.clock.now)]


async def test_an_account_under_attack_slows_every_address_from_its_first_failure(
    world: World,
) -> None:
    await world.accounts.register("ann@example.com", PASSWORD, "Ann", CLIENT)
    for index in range(8):
        with pytest.raises(UnauthenticatedError):
            await world.auth.login("ann@example.com", "wrong password 1", f"10.8.0.{index}")
    with pytest.raises(UnauthenticatedError):
        await world.auth.login("ann@example.com", "wrong password 1", "10.8.1.1")
    with pytest.raises(ResourceExhaustedError):
        await world.auth.login("ann@example.com", "wrong password 1", "10.8.1.1")
    # A fresh address still gets its password checked: the owner gets in.
    tokens, _ = await world.auth.login("ann@example.com", PASSWORD, "10.8.2.2")
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
