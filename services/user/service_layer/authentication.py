"""Use cases around signing in: login with throttling, refresh rotation, logout, service
tokens, and the public keys that let every service verify what we sign."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mesh import rbac
from mesh.auth.identity import Identity
from mesh.auth.jwt import claims_of_verified
from mesh.clock import Clock
from mesh.errors import ResourceExhaustedError, UnauthenticatedError

from ..domain.model import SignInFailuresDetected, User, normalize_email
from ..domain.sessions import (
    RefreshToken,
    TokenPair,
    TokenState,
    hash_refresh_token,
    new_refresh_token,
)
from ..domain.throttle import (
    Attempts,
    LoginPolicy,
    ThrottleRule,
    account_key,
    client_key,
    record_failure,
    retry_after,
    source_key,
)
from .ports import PasswordHasher, SessionRevocations, Signer, UserStore

logger = logging.getLogger(__name__)

# Verified against when the e-mail is unknown, so a miss costs the same time as a wrong password.
_DUMMY_PASSWORD = "not-a-real-password-0"


@dataclass(frozen=True, slots=True)
class TokenSettings:
    issuer: str
    audience: str
    access_ttl: timedelta
    refresh_ttl: timedelta


@dataclass(frozen=True, slots=True)
class ServiceToken:
    access_token: str
    expires_in: int


class Authenticator:
    def __init__(
        self,
        store: UserStore,
        hasher: PasswordHasher,
        signer: Signer,
        tokens: TokenSettings,
        policy: LoginPolicy,
        service_secrets: Mapping[str, str],
        revocations: SessionRevocations,
        clock: Clock,
    ) -> None:
        self._store = store
        self._revocations = revocations
        self._hasher = hasher
        self._signer = signer
        self._tokens = tokens
        self._policy = policy
        # client id -> sha256 hex of its secret; the secrets themselves are never configured here.
        self._service_secrets = dict(service_secrets)
        self._clock = clock
        self._dummy_hash: str | None = None

    async def login(self, email: str, password: str, client: str) -> tuple[TokenPair, User]:
        now = self._clock()
        account, source = account_key(email), source_key(email, client)
        attempts = await self._store.get_attempts([account, source, client_key(client)])
        # Only this address's own failures can refuse it, so the owner signing in from
        # elsewhere always gets a password check.
        rules = {
            source: self._policy.source_rule(attempts.get(account), now),
            client_key(client): self._policy.client,
        }
        wait = max(retry_after(rule, attempts.get(key), now) for key, rule in rules.items())
        if wait > 0:
            # The same answer for a known and an unknown e-mail, checked before the password.
            raise ResourceExhaustedError(
                "too many failed sign-in attempts; try again later",
                reason="LOGIN_THROTTLED",
                retry_after_seconds=round(wait, 3),
            )
        user = await self._store.find_by_email(normalize_email(email))
        if user is None:
            await self._hasher.verify(await self._dummy(), password)
            await self._record_failure(rules, account, None)
            raise _bad_credentials()
        if not await self._hasher.verify(user.password_hash, password):
            await self._record_failure(rules, account, user)
            raise _bad_credentials()
        await self._store.clear_attempts(source)
        if self._hasher.needs_rehash(user.password_hash):
            await self._store.set_password_hash(user.id, await self._hasher.hash(password))
        return await self._start_session(user), user

    async def refresh(self, refresh_token: str) -> TokenPair:
        now = self._clock()
        new_token, new_hash = new_refresh_token()

        def successor(old: RefreshToken) -> RefreshToken:
            return RefreshToken(
                token_hash=new_hash,
                family_id=old.family_id,
                user_id=old.user_id,
                issued_at=now,
                expires_at=now + self._tokens.refresh_ttl,
            )

        rotation = await self._store.rotate_refresh_token(
            hash_refresh_token(refresh_token), now, successor
        )
        if rotation.state is TokenState.REPLAYED:
            logger.warning("refresh token reused; its family is revoked")
            if rotation.family_id is not None:
                await self._revoke_session(rotation.family_id)
            raise UnauthenticatedError(
                "the refresh token was already used; sign in again", reason="REFRESH_TOKEN_REUSED"
            )
        if rotation.state is not TokenState.VALID or rotation.user is None:
            raise UnauthenticatedError(
                "the refresh token is invalid or expired; sign in again",
                reason="INVALID_REFRESH_TOKEN",
            )
        return TokenPair(
            access_token=self._access_token(
                rotation.user.id, rotation.user.roles, now, session_id=rotation.family_id or ""
            ),
            refresh_token=new_token,
            expires_in=int(self._tokens.access_ttl.total_seconds()),
        )

    async def logout(self, caller: Identity, refresh_token: str) -> None:
        """Ends the caller's session: its refresh tokens and its access tokens.

        A refresh token of someone else's session is left alone (and the answer is the same
        as for an unknown one); logging out twice is not an error.
        """
        token = await self._store.find_refresh_token(hash_refresh_token(refresh_token))
        if token is not None and token.user_id == caller.subject:
            await self._store.revoke_family(token.token_hash, self._clock())
            await self._revoke_session(token.family_id)
        calling_session = _session_of(caller.token)
        if calling_session is not None and (token is None or calling_session != token.family_id):
            await self._revoke_session(calling_session)

    def issue_service_token(self, client_id: str, client_secret: str) -> ServiceToken:
        expected = self._service_secrets.get(client_id)
        presented = hashlib.sha256(client_secret.encode()).hexdigest()
        # Compare even for an unknown client, so timing does not tell which clients exist.
        matches = hmac.compare_digest(presented, expected or "0" * 64)
        if expected is None or not matches:
            raise UnauthenticatedError(
                "unknown client or wrong secret", reason="INVALID_CLIENT_CREDENTIALS"
            )
        now = self._clock()
        token = self._access_token(f"service:{client_id}", (rbac.SERVICE,), now)
        return ServiceToken(token, int(self._tokens.access_ttl.total_seconds()))

    async def _start_session(self, user: User) -> TokenPair:
        now = self._clock()
        token, token_hash = new_refresh_token()
        # The family id names the session: its access tokens carry it as `sid`.
        family_id = str(uuid.uuid4())
        await self._store.add_refresh_token(
            RefreshToken(
                token_hash=token_hash,
                family_id=family_id,
                user_id=user.id,
                issued_at=now,
                expires_at=now + self._tokens.refresh_ttl,
            )
        )
        return TokenPair(
            access_token=self._access_token(user.id, user.roles, now, session_id=family_id),
            refresh_token=token,
            expires_in=int(self._tokens.access_ttl.total_seconds()),
        )

    def _access_token(
        self, subject: str, roles: Sequence[str], now: datetime, *, session_id: str = ""
    ) -> str:
        issued_at = int(now.timestamp())
        claims: dict[str, Any] = {
            "sub": subject,
            "roles": list(roles),
            "iss": self._tokens.issuer,
            "aud": self._tokens.audience,
            "iat": issued_at,
            "exp": issued_at + int(self._tokens.access_ttl.total_seconds()),
            "jti": str(uuid.uuid4()),
        }
        if session_id:
            claims["sid"] = session_id
        return self._signer.sign(claims, now)

    async def _revoke_session(self, session_id: str) -> None:
        # Access tokens of the session live at most access_ttl; the entry can go after that.
        await self._revocations.revoke(session_id, self._tokens.access_ttl)

    async def _record_failure(
        self, rules: Mapping[str, ThrottleRule], account: str, user: User | None
    ) -> None:
        now = self._clock()
        for key, rule in rules.items():
            await self._store.update_attempts(key, functools.partial(record_failure, rule, now=now))
        counted = await self._store.update_attempts(
            account, functools.partial(record_failure, self._policy.account_wide(), now=now)
        )
        if user is not None and counted.failures == self._policy.alert_after:
            await self._store.add_event(_failures_detected(user, counted, self._policy, now))

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._hasher.hash(_DUMMY_PASSWORD)
        return self._dummy_hash


def _failures_detected(
    user: User, counted: Attempts, policy: LoginPolicy, now: datetime
) -> SignInFailuresDetected:
    return SignInFailuresDetected(user, counted.failures, int(policy.account.window_seconds), now)


def _session_of(token: str) -> str | None:
    """The `sid` claim of a token the runtime has verified (so its payload is trusted)."""
    session = claims_of_verified(token).get("sid")
    return session if isinstance(session, str) and session else None


def _bad_credentials() -> UnauthenticatedError:
    return UnauthenticatedError("wrong e-mail or password", reason="INVALID_CREDENTIALS")
