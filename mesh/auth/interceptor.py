"""Verifies the bearer token of every call and enforces the method's access rule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from grpc import aio

from mesh.auth.access import AccessPolicy, AccessRule, read_field
from mesh.auth.identity import Identity, identity_scope
from mesh.errors import DomainError, PermissionDeniedError, UnauthenticatedError
from mesh.interceptors.base import CallInterceptor, Continuation

__all__ = ["AuthInterceptor", "TokenVerifier", "authorize", "bearer_token"]

_BEARER = "bearer "


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Identity: ...


def bearer_token(metadata: Iterable[tuple[str, Any]] | None) -> str | None:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str):
            if value[: len(_BEARER)].lower() == _BEARER and value[len(_BEARER) :].strip():
                return value[len(_BEARER) :].strip()
            raise UnauthenticatedError("the authorization metadata must be 'Bearer <token>'")
    return None


def authorize(rule: AccessRule, identity: Identity | None, request: Any) -> None:
    """Raises unless `identity` may call a method guarded by `rule` with `request`.

    Service tokens pass exactly where the rule says `service` or `internal`. `resource_owner`
    methods are let through here: the handler loads the resource and checks its owner with
    `require_self_or_permission`.
    """
    if rule.public:
        return
    if identity is None:
        raise UnauthenticatedError("a valid bearer token is required")
    if identity.is_service:
        if rule.service or rule.internal:
            return
        raise PermissionDeniedError(
            "service tokens may not call this method", reason="SERVICE_NOT_ALLOWED"
        )
    if rule.permission and identity.has_permission(rule.permission):
        return
    if rule.owner_field:
        owner = read_field(request, rule.owner_field)
        if isinstance(owner, str) and owner and owner == identity.subject:
            return
    elif rule.resource_owner or not rule.permission:
        return
    raise PermissionDeniedError(
        "the caller may not do this",
        reason="MISSING_PERMISSION" if rule.permission else "NOT_OWNER",
        metadata={"permission": rule.permission} if rule.permission else None,
    )


class AuthInterceptor(CallInterceptor):
    def __init__(self, verifier: TokenVerifier, policy: AccessPolicy) -> None:
        self._verifier = verifier
        self._policy = policy

    async def intercept(
        self,
        call_next: Continuation,
        request: Any,
        context: aio.ServicerContext[Any, Any],
        method: str,
    ) -> Any:
        rule = self._policy.rule_for(method)
        identity = await self._identify(context, public=rule.public)
        authorize(rule, identity, request)
        with identity_scope(identity):
            return await call_next(request, context)

    async def _identify(
        self, context: aio.ServicerContext[Any, Any], *, public: bool
    ) -> Identity | None:
        try:
            token = bearer_token(context.invocation_metadata())
            return None if token is None else await self._verifier.verify(token)
        except DomainError:
            # A stale token must not break a public page: the call proceeds anonymously.
            if public:
                return None
            raise
