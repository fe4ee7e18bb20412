"""In-memory stand-ins for the user service's store, hasher and signer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from services.user.domain.model import User, UserEvent, UserRegistered, UserUpdated
from services.user.domain.sessions import RefreshToken, TokenState, state_of
from services.user.domain.throttle import Attempts
from services.user.service_layer.ports import EmailTakenError, PageCursor, Rotation, UserStore


class FakeUserStore(UserStore):
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.tokens: dict[str, RefreshToken] = {}
        self.attempts: dict[str, Attempts] = {}
        self.events: list[UserEvent] = []
        self._lock = asyncio.Lock()

    async def add_user(self, user: User) -> None:
        if await self.find_by_email(user.email) is not None:
            raise EmailTakenError(user.email)
        self.users[user.id] = user
        self.events.append(UserRegistered(user))

    async def get_user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    async def find_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email.lower() == email.lower()), None)

    async def update_user(self, user_id: str, change: Callable[[User], User]) -> User | None:
        user = self.users.get(user_id)
        if user is None:
            return None
        updated = change(user)
        other = await self.find_by_email(updated.email)
        if other is not None and other.id != user_id:
            raise EmailTakenError(updated.email)
        self.users[user_id] = updated
        self.events.append(UserUpdated(updated))
        return updated

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.users[user_id] = replace(self.users[user_id], password_hash=password_hash)

    async def list_users(
        self, limit: int, after: PageCursor | None, email_prefix: str
    ) -> list[User]:
        users = sorted(
            (u for u in self.users.values() if u.email.lower().startswith(email_prefix.lower())),
            key=lambda u: (u.created_at, u.id),
            reverse=True,
        )
        if after is not None:
            users = [u for u in users if (u.created_at, u.id) < (after.created_at, after.user_id)]
        return users[:limit]

    async def count_users(self, email_prefix: str) -> int:
        return len(await self.list_users(10**9, None, email_prefix))

    async def add_refresh_token(self, token: RefreshToken) -> None:
        self.tokens[token.token_hash] = token

    async def rotate_refresh_token(
        self,
        token_hash: str,
        now: datetime,
        successor: Callable[[RefreshToken], RefreshToken],
    ) -> Rotation:
        async with self._lock:
            token = self.tokens.get(token_hash)
            if token is None:
                return Rotation(state=None)
            state = state_of(token, now)
            if state is TokenState.REPLAYED:
                self._revoke(token.family_id, now)
                return Rotation(state=state)
            if state is TokenState.EXPIRED:
                return Rotation(state=state)
            self.tokens[token_hash] = replace(token, used_at=now)
            new_token = successor(token)
            self.tokens[new_token.token_hash] = new_token
            return Rotation(state=state, user=self.users[token.user_id], successor=new_token)

    async def revoke_family(self, token_hash: str, now: datetime) -> bool:
        token = self.tokens.get(token_hash)
        if token is None:
            return False
        self._revoke(token.family_id, now)
        return True

    async def get_attempts(self, keys: list[str]) -> dict[str, Attempts]:
        return {key: self.attempts[key] for key in keys if key in self.attempts}

    async def update_attempts(
        self, key: str, change: Callable[[Attempts | None], Attempts]
    ) -> Attempts:
        self.attempts[key] = change(self.attempts.get(key))
        return self.attempts[key]

    async def clear_attempts(self, key: str) -> None:
        self.attempts.pop(key, None)

    async def purge(self, now: datetime, attempts_idle_for: timedelta) -> None:
        self.tokens = {h: t for h, t in self.tokens.items() if t.expires_at >= now}
        self.attempts = {
            key: a
            for key, a in self.attempts.items()
            if a.last_failure_at >= now - attempts_idle_for
            or (a.locked_until is not None and a.locked_until >= now)
        }

    def _revoke(self, family_id: str, now: datetime) -> None:
        for token_hash, token in self.tokens.items():
            if token.family_id == family_id and token.revoked_at is None:
                self.tokens[token_hash] = replace(token, revoked_at=now)


class PlainHasher:
    """Reversible "hashing" that is fast enough for unit tests."""

    async def hash(self, password: str) -> str:
        return "plain$" + password

    async def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "plain$" + password

    def needs_rehash(self, password_hash: str) -> bool:
        return False


class RecordingSigner:
    """Returns the claims as the "token" so tests can read them back."""

    def __init__(self) -> None:
        self.signed: list[dict[str, Any]] = []

    def sign(self, claims: Mapping[str, Any], now: datetime) -> str:
        self.signed.append(dict(claims))
        return f"token-{len(self.signed)}"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
