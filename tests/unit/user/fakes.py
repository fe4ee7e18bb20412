"""In-memory stand-ins for the user service's store, hasher, signer, revocations and screen."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Mapping, Sequence
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

    async def add_user(self, user: User, registered: UserRegistered) -> None:
        if await self.find_by_email(user.email) is not None:
            raise EmailTakenError(user.email)
        self.users[user.id] = user
        self.events.append(registered)

    async def add_event(self, event: UserEvent) -> None:
        self.events.append(event)

    async def get_user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    async def find_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email.lower() == email.lower()), None)

    async def update_user(self, user_id: str, change: Callable[[User], User]) -> User | None:
        user = self.users.get(user_id)
        if user is None:
            return None
        updated = change(user)
        if updated == user:
            return user
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
                return Rotation(state=state, family_id=token.family_id)
            if state is TokenState.EXPIRED:
                return Rotation(state=state, family_id=token.family_id)
            self.tokens[token_hash] = replace(token, used_at=now)
            new_token = successor(token)
            self.tokens[new_token.token_hash] = new_token
            return Rotation(
                state=state,
                user=self.users[token.user_id],
                successor=new_token,
                family_id=token.family_id,
            )

    async def find_refresh_token(self, token_hash: str) -> RefreshToken | None:
        return self.tokens.get(token_hash)

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
    """Tokens are unsigned JWT-shaped strings ("h.<claims>.s") so tests can read them back."""

    def __init__(self) -> None:
        self.signed: list[dict[str, Any]] = []

    def sign(self, claims: Mapping[str, Any], now: datetime) -> str:
        self.signed.append(dict(claims))
        payload = base64.urlsafe_b64encode(json.dumps(dict(claims)).encode()).decode()
        return f"h.{payload.rstrip('=')}.s{len(self.signed)}"

    def verify(self, token: str, audience: str, issuer: str, now: datetime) -> Mapping[str, Any]:
        claims = next((c for c in self.signed if self.sign_of(c) == token), None)
        if claims is None:
            raise ValueError("not a token of ours")
        if claims.get("aud") != audience or claims.get("iss") != issuer:
            raise ValueError("wrong audience or issuer")
        if claims["exp"] <= now.timestamp():
            raise ValueError("expired")
        return claims

    def sign_of(self, claims: Mapping[str, Any]) -> str:
        index = self.signed.index(dict(claims)) + 1
        payload = base64.urlsafe_b64encode(json.dumps(dict(claims)).encode()).decode()
        return f"h.{payload.rstrip('=')}.s{index}"


class RecordingRevocations:
    def __init__(self) -> None:
        self.revoked: dict[str, timedelta] = {}

    async def revoke(self, session_id: str, ttl: timedelta) -> None:
        self.revoked[session_id] = ttl


class ListScreen:
    """Refuses the passwords it lists, like the real screen refuses its package's list."""

    def __init__(self, *weak: str) -> None:
        self._weak = {password.lower() for password in weak}

    async def weakness(self, password: str, user_inputs: Sequence[str]) -> str | None:
        if password.lower() in self._weak:
            return "is a common or easily guessed password (this is a very common password)"
        return None


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
