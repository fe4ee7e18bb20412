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

    A service token passes only where the mesh policy lists its workload (`rule.callers`),
    whatever its roles. People never reach `internal` methods, even with a token a service
    forwards. `resource_owner` methods are let through here: the handler loads the resource
    and checks its owner.
    """
    if rule.public:
        return
    if identity is None:
        raise UnauthenticatedError("a valid bearer token is required")
    if identity.is_service:
        _authorize_workload(rule, identity)
        return
    if rule.internal:
        raise PermissionDeniedError(
            "only other services may call this method", reason="INTERNAL_METHOD"
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


def _authorize_workload(rule: AccessRule, identity: Identity) -> None:
    workload = identity.workload
    if workload is not None and workload in rule.callers:
        return
    raise PermissionDeniedError(
        f"the mesh policy does not let workload {workload or identity.subject!r} call this method",
        reason="WORKLOAD_NOT_ALLOWED",
        metadata={"workload": workload or ""},
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
