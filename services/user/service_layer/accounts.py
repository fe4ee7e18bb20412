"""Use cases around user accounts: register, read, update, list, and the bootstrap admin."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.errors import (
    AlreadyExistsError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from mesh.pagination import INSTANT_AND_ID, InstantAndId

from ..domain.model import User, UserChanges, apply_changes, normalize_email
from ..domain.passwords import password_violations
from .ports import EmailTakenError, PageCursor, PasswordHasher, UserStore

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


class Accounts:
    def __init__(
        self, store: UserStore, hasher: PasswordHasher, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._clock = clock

    async def register(self, email: str, password: str, display_name: str) -> User:
        email = normalize_email(email)
        _check_password(password, email)
        if not display_name.strip():
            raise InvalidArgumentError(
                violations=[FieldViolation("display_name", "must not be blank")]
            )
        now = self._clock()
        user = User(
            id=str(uuid.uuid4()),
            email=email,
            display_name=display_name.strip(),
            roles=(rbac.CUSTOMER,),
            password_hash=await self._hasher.hash(password),
            created_at=now,
            updated_at=now,
        )
        try:
            await self._store.add_user(user)
        except EmailTakenError:
            raise _email_taken() from None
        return user

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
        _check_password(password, email, field="SHOP_ADMIN_PASSWORD")
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
            )
            try:
                await self._store.add_user(admin)
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


def _may_access(caller: Identity, user_id: str, permission: str) -> bool:
    return caller.subject == user_id or caller.has_permission(permission)


def _check_password(password: str, email: str, field: str = "password") -> None:
    violations = password_violations(password, email, field)
    if violations:
        raise InvalidArgumentError(
            "the password does not meet the policy",
            reason="WEAK_PASSWORD",
            violations=[FieldViolation(v.field, v.description) for v in violations],
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
