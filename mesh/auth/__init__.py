"""Caller identity: JWT verification, access rules and permission checks for handlers."""

from mesh.auth.access import AccessPolicy, AccessRule
from mesh.auth.identity import (
    Identity,
    current_identity,
    identity_scope,
    optional_identity,
    require_permission,
    require_self_or_permission,
)
from mesh.auth.interceptor import AuthInterceptor, TokenVerifier, authorize
from mesh.auth.jwt import JwksCache, JwtVerifier, KeySource
from mesh.auth.service_token import IssuedToken, ServiceTokenProvider, TokenIssuer

__all__ = [
    "AccessPolicy",
    "AccessRule",
    "AuthInterceptor",
    "Identity",
    "IssuedToken",
    "JwksCache",
    "JwtVerifier",
    "KeySource",
    "ServiceTokenProvider",
    "TokenIssuer",
    "TokenVerifier",
    "authorize",
    "current_identity",
    "identity_scope",
    "optional_identity",
    "require_permission",
    "require_self_or_permission",
]
