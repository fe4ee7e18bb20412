"""Use cases around user accounts: sign-up with e-mail verification, read, update, list, and
the bootstrap admin."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.clock import Clock
from mesh.errors import (
    AlreadyExistsError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
)
from mesh.pagination import INSTANT_AND_ID, InstantAndId

from ..domain.model import (
    SignUpWithExistingEmail,
    User,
    UserChanges,
    UserRegistered,
    apply_changes,
    mark_email_verified,
    normalize_email,
)
from ..domain.passwords import PolicyViolation, password_violations
from ..domain.throttle import ThrottleRule, record_failure, retry_after, signup_key
from ..domain.verification import InvalidVerificationToken, VerificationLinks, claim_of
from .ports import EmailTakenError, PageCursor, PasswordHasher, PasswordScreen, Signer, UserStore

logger = logging.getLogger(__name__)

# Roles a person can hold; "service" belongs to service tokens only.
ASSIGNABLE_ROLES = frozenset(
    {rbac.CUSTOMER, rbac.ADMIN, rbac.CUSTOMER_SERVICE, rbac.INVENTORY_MANAGER}
)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class UserPage:
    users: list[User]
    next_page_token: str
    total_size: int


@dataclass(frozen=True, slots=True)
class SignUpRules:
    links: VerificationLinks
    # Sign-ups per client address and window.
    per_client: ThrottleRule


class Accounts:
    def __init__(
        self,
        store: UserStore,
        hasher: PasswordHasher,
        screen: PasswordScreen,
        signer: Signer,
        sign_up: SignUpRules,
        clock: Clock,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._screen = screen
        self._signer = signer
        self._sign_up = sign_up
        self._clock = clock

    async def register(self, email: str, password: str, display_name: str, client: str) -> User:
        """A new customer, or, for an address that has an account, an answer that looks the
        same: a fresh id that names no account (the owner is mailed instead)."""
        email = normalize_email(email)
        await self._check_password(password, email, display_name)
        if not display_name.strip():
            raise InvalidArgumentError(
                violations=[FieldViolation("display_name", "must not be blank")]
            )
        await self._count_sign_up(client)
        now = self._clock()
        user = User(
            id=str(uuid.uuid4()),
            email=email,
            display_name=display_name.strip(),
            roles=(rbac.CUSTOMER,),
            # Hashed for a taken address too, so both answers take the same time.
            password_hash=await self._hasher.hash(password),
            created_at=now,
            updated_at=now,
        )
        token = self._signer.sign(self._sign_up.links.claims(user.id, email, now), now)
        try:
            await self._store.add_user(user, UserRegistered(user, self._sign_up.links.url(token)))
        except EmailTakenError:
            existing = await self._store.find_by_email(email)
            if existing is not None:
                await self._store.add_event(SignUpWithExistingEmail(existing, now))
        return user

    async def verify_email(self, token: str) -> None:
        now = self._clock()
        links = self._sign_up.links
        try:
            claims = self._signer.verify(token, links.token_audience, links.issuer, now)
            claim = claim_of(claims)
        except (ValueError, InvalidVerificationToken):
            raise _bad_verification_token() from None
        user = await self._store.get_user(claim.user_id) if _is_uuid(claim.user_id) else None
        if user is None or user.email.lower() != claim.email:
            # The account is gone or its address changed since the mail was sent.
            raise _bad_verification_token()
        if user.email_verified:
            return
        await self._store.update_user(
            user.id,
            lambda current: (
                mark_email_verified(current, now)
                if current.email.lower() == claim.email
                else current
            ),
        )

    async def get(self, caller: Identity, user_id: str) -> User:
        user = await self._store.get_user(user_id) if _is_uuid(user_id) else None
        # A customer asking for someone else learns nothing, not even that the id exists.
        if user is None or not _may_access(caller, user_id, rbac.USERS_READ):
            raise NotFoundError(
                "no such user", resource_type="user", resource_name=f"users/{user_id}"
            )
        return user

    async def update(self, caller: Identity, user_id: str, changes: UserChanges) -> User:
        if not _may_access(caller, user_id, rbac.USERS_WRITE):
            raise NotFoundError(
                "no such user", resource_type="user", resource_name=f"users/{user_id}"
            )
        if changes.roles is not None:
            if not caller.has_permission(rbac.USERS_WRITE):
                raise PermissionDeniedError(
                    "changing roles needs users:write",
                    reason="MISSING_PERMISSION",
                    metadata={"permission": rbac.USERS_WRITE},
                )
            _check_roles(changes.roles)
        if changes.display_name is not None and not changes.display_name.strip():
            raise InvalidArgumentError(
                violations=[FieldViolation("user.display_name", "must not be blank")]
            )
        if changes.is_empty():
            return await self.get(caller, user_id)
        now = self._clock()
        try:
            updated = await self._store.update_user(
                user_id, lambda user: apply_changes(user, changes, now)
            )
        except EmailTakenError:
            raise _email_taken() from None
        if updated is None:
            raise NotFoundError(
                "no such user", resource_type="user", resource_name=f"users/{user_id}"
            )
        return updated

    async def list(
        self, caller: Identity, page_size: int, page_token: str, email_prefix: str
    ) -> UserPage:
        if not caller.has_permission(rbac.USERS_READ):
            raise PermissionDeniedError(
                "listing users needs users:read",
                reason="MISSING_PERMISSION",
                metadata={"permission": rbac.USERS_READ},
            )
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        prefix = email_prefix.strip()
        after = _decode_page_token(page_token, prefix)
        # One extra row tells whether another page exists.
        users = await self._store.list_users(size + 1, after, prefix)
        total = await self._store.count_users(prefix)
        if len(users) <= size:
            return UserPage(users, "", total)
        users = users[:size]
        return UserPage(users, _encode_page_token(users[-1], prefix), total)

    async def ensure_admin(self, email: str, password: str) -> User:
        """The configured admin exists, holds `admin` and has exactly this password."""
        email = normalize_email(email)
        await self._check_password(password, email, "Administrator", field="SHOP_ADMIN_PASSWORD")
        password_hash = await self._hasher.hash(password)
        existing = await self._store.find_by_email(email)
        if existing is None:
            now = self._clock()
            admin = User(
                id=str(uuid.uuid4()),
                email=email,
                display_name="Administrator",
                roles=(rbac.ADMIN,),
                password_hash=password_hash,
                created_at=now,
                updated_at=now,
                # The operator chose this address: there is nobody to send a link to.
                email_verified_at=now,
            )
            try:
                await self._store.add_user(admin, UserRegistered(admin))
                logger.info("created the admin user %s", admin.id)
                return admin
            except EmailTakenError:
                # Another replica created it at the same moment; update that one instead.
                existing = await self._store.find_by_email(email)
                if existing is None:
                    raise
        await self._store.set_password_hash(existing.id, password_hash)
        if rbac.ADMIN in existing.roles:
            return existing
        now = self._clock()
        roles = (*existing.roles, rbac.ADMIN)
        updated = await self._store.update_user(
            existing.id, lambda user: apply_changes(user, UserChanges(roles=roles), now)
        )
        logger.info("granted admin to the configured admin user %s", existing.id)
        return updated or existing

    async def _check_password(
        self, password: str, email: str, display_name: str, field: str = "password"
    ) -> None:
        violations = password_violations(password, email, field)
        own_words = (email, email.split("@", 1)[0], display_name, "shopmesh")
        weakness = await self._screen.weakness(password, own_words)
        if weakness is not None:
            violations.append(PolicyViolation(field, weakness))
        if violations:
            raise InvalidArgumentError(
                "the password does not meet the policy",
                reason="WEAK_PASSWORD",
                violations=[FieldViolation(v.field, v.description) for v in violations],
            )

    async def _count_sign_up(self, client: str) -> None:
        rule, key, now = self._sign_up.per_client, signup_key(client), self._clock()
        attempts = await self._store.get_attempts([key])
        wait = retry_after(rule, attempts.get(key), now)
        if wait > 0:
            raise ResourceExhaustedError(
                "too many sign-ups from this address; try again later",
                reason="SIGN_UP_THROTTLED",
                retry_after_seconds=round(wait, 3),
            )
        await self._store.update_attempts(key, lambda current: record_failure(rule, current, now))


def _may_access(caller: Identity, user_id: str, permission: str) -> bool:
    return caller.subject == user_id or caller.has_permission(permission)


def _bad_verification_token() -> InvalidArgumentError:
    return InvalidArgumentError(
        "the verification link is invalid or expired",
        reason="INVALID_VERIFICATION_TOKEN",
        violations=[FieldViolation("token", "is not a valid, unexpired verification link")],
    )


def _check_roles(roles: tuple[str, ...]) -> None:
    unknown = sorted(set(roles) - ASSIGNABLE_ROLES)
    if unknown or not roles:
        raise InvalidArgumentError(
            violations=[
                FieldViolation(
                    "user.roles",
                    f"each role must be one of {', '.join(sorted(ASSIGNABLE_ROLES))}"
                    + (f"; unknown: {', '.join(unknown)}" if unknown else "; at least one"),
                )
            ]
        )


def _email_taken() -> AlreadyExistsError:
    return AlreadyExistsError(
        "an account with this e-mail address already exists",
        reason="EMAIL_TAKEN",
        resource_type="user",
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _encode_page_token(last: User, email_prefix: str) -> str:
    return INSTANT_AND_ID.encode(InstantAndId(last.created_at, last.id), query=email_prefix)


def _decode_page_token(token: str, email_prefix: str) -> PageCursor | None:
    position = INSTANT_AND_ID.decode(token, query=email_prefix)
    if position is None:
        return None
    if not _is_uuid(position.id):
        raise InvalidArgumentError(
            violations=[FieldViolation("page_token", "is not a token from a previous page")]
        )
    return PageCursor(position.at, position.id)
