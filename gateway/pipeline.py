"""One routed request: edge policies, transcoding, the gRPC call, the JSON answer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl

import grpc
from google.protobuf import duration_pb2, message_factory
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from opentelemetry import propagate

from gateway.edge.client import BotDetector, DeadlinePolicy, client_ip
from gateway.edge.cors import CorsPolicy
from gateway.edge.ratelimit import Decision, Limit, RateLimiter
from gateway.errors import bad_request, http_status_of, status_from_trailers
from gateway.forwarding import ForwardingProof
from gateway.http import (
    BodyTooLarge,
    Headers,
    HttpRequest,
    HttpResponse,
    Receive,
    Rejection,
    read_body,
)
from gateway.settings import IpNetwork
from gateway.transcoding.request import RequestError, build_request, parse_json_body
from gateway.transcoding.response import RenderedResponses
from gateway.transcoding.router import Match, MethodNotAllowed, NoRoute, Router
from gateway.transcoding.routes import Route
from gateway.upstream import Upstream
from mesh.auth.forwarded import FORWARDED_FOR
from mesh.auth.identity import Identity
from mesh.auth.interceptor import TokenVerifier, authorize, bearer_token
from mesh.errors import DomainError, to_rpc_status

__all__ = ["EdgeLimits", "Pipeline", "RequestLog", "enforce", "limit_headers"]

_IDEMPOTENCY_KEY: Final = re.compile(r"^[\x21-\x7e]{1,255}$")
_JSON_TYPES: Final = re.compile(r"^application/([a-z0-9.+-]+\+)?json\s*(;.*)?$", re.IGNORECASE)
_REALM: Final = 'Bearer realm="shopmesh"'
# Headers passed on as metadata besides those the gateway sets itself; nothing else crosses
# (cookies and hop-by-hop headers stay at the edge). x-test-group drives the mesh's A/B routing.
_FORWARDED_HEADERS: Final = ("x-test-group",)
_HEADER_TOKEN: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(slots=True)
class RequestLog:
    """What the access log and metrics say about a request, filled in as it proceeds."""

    request_id: str
    client_ip: str = ""
    route: str = "unmatched"
    rpc: str = ""
    user: str = ""
    grpc_code: str = ""


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    per_ip: int
    per_user: int
    # By full method name, e.g. {"shop.user.v1.UserService.Login": 10}, per client IP.
    per_route: Mapping[str, int] = field(default_factory=dict)
    max_body_bytes: int = 1_048_576
    trusted_proxies: tuple[IpNetwork, ...] = ()


class Pipeline:
    def __init__(
        self,
        *,
        router: Router,
        upstreams: Upstream,
        verifier: TokenVerifier,
        limiter: RateLimiter,
        limits: EdgeLimits,
        cors: CorsPolicy,
        bots: BotDetector,
        deadlines: DeadlinePolicy,
        proof: ForwardingProof,
    ) -> None:
        self._router = router
        self._upstreams = upstreams
        self._verifier = verifier
        self._limiter = limiter
        self._limits = limits
        self._cors = cors
        self._bots = bots
        self._deadlines = deadlines
        self._proof = proof
        self._rendered = RenderedResponses()
        self._request_types = {
            route.grpc_path: message_factory.GetMessageClass(route.method.input_type)
            for route in router.routes
        }

    def is_preflight(self, request: HttpRequest) -> bool:
        return request.method == "OPTIONS" and "access-control-request-method" in request.headers

    def preflight(self, request: HttpRequest) -> HttpResponse:
        headers = self._cors.preflight_headers(
            request.headers.get("origin"),
            request.headers.get("access-control-request-method", ""),
            request.headers.get("access-control-request-headers", ""),
        )
        return HttpResponse(204, None, headers)

    def cors_headers(self, request: HttpRequest) -> Headers:
        return self._cors.response_headers(request.headers.get("origin"))

    def client_ip(self, request: HttpRequest) -> str:
        return client_ip(
            request.peer, request.headers.get("x-forwarded-for"), self._limits.trusted_proxies
        )

    async def admit(self, request: HttpRequest, log: RequestLog) -> list[Decision]:
        """Bot and per-IP checks of a request outside the API routes (429 raised here)."""
        self._refuse_bots(request)
        return await self._count([self._ip_limit(log)])

    async def handle(self, request: HttpRequest, receive: Receive, log: RequestLog) -> HttpResponse:
        """An API request: counted against all its rate limits in one round trip once the route
        and the caller are known; a request refused earlier (no route, bad body or token) is
        counted against the limits known by then, and a 429 takes precedence over its error."""
        self._refuse_bots(request)
        limits = [self._ip_limit(log)]
        try:
            route, found = self._route(request, log, limits)
            body = await self._body(request, receive, route)
            identity = await self._identify(request, route)
        except Rejection:
            await self._count(limits)
            raise
        if identity is not None:
            log.user = identity.subject
            limits.append((f"user:{identity.subject}", self._limits.per_user))
        decisions = await self._count(limits)
        message = self._transcode(route, found, request, body)
        try:
            authorize(route.access, identity, message)
        except DomainError as error:
            raise _rejection_of(error) from None
        answer = await self._call(request, route, message, identity, log)
        payload = self._rendered.render(route, answer)
        return HttpResponse(route.success_status, payload, limit_headers(decisions))

    def _refuse_bots(self, request: HttpRequest) -> None:
        if self._bots.is_denied(request.headers.get("user-agent")):
            raise Rejection(
                _status(grpc.StatusCode.PERMISSION_DENIED, "automated clients are not allowed")
            )

    def _ip_limit(self, log: RequestLog) -> Limit:
        return (f"ip:{log.client_ip}", self._limits.per_ip)

    async def _count(self, limits: list[Limit]) -> list[Decision]:
        """Counts the request (429 raised when a limit is exceeded)."""
        known = self._limiter.refused(limits)
        if known is not None:
            enforce([known])
        decisions = await self._limiter.hit(limits)
        enforce(decisions)
        return decisions

    def _route(
        self, request: HttpRequest, log: RequestLog, limits: list[Limit]
    ) -> tuple[Route, Match]:
        """The route matched; its own limit joins `limits`, and a client that exhausted one of
        them is refused here, before its body is read or its token verified."""
        try:
            found = self._router.resolve(request.method, request.raw_path)
        except UnicodeDecodeError:
            raise Rejection(
                bad_request("the path is not valid UTF-8 after percent-decoding")
            ) from None
        if isinstance(found, NoRoute):
            raise Rejection(_status(grpc.StatusCode.NOT_FOUND, "no such route"), http_status=404)
        if isinstance(found, MethodNotAllowed):
            raise Rejection(
                _status(
                    grpc.StatusCode.UNIMPLEMENTED, f"method {request.method} is not allowed here"
                ),
                http_status=405,
                headers=[("allow", ", ".join(found.allowed))],
            )
        route = found.route
        log.route = route.template.source
        log.rpc = route.grpc_path
        route_limit = self._limits.per_route.get(route.method.full_name)
        if route_limit is not None:
            limits.append((f"route:{route.method.full_name}:ip:{log.client_ip}", route_limit))
        known = self._limiter.refused(limits)
        if known is not None:
            enforce([known])
        return route, found

    async def _body(self, request: HttpRequest, receive: Receive, route: Route) -> object:
        if not route.body:
            # Bindings without a body ignore one, as the HTTP rule says all fields come from
            # the path and query.
            return None
        try:
            raw = await read_body(
                receive, self._limits.max_body_bytes, request.headers.get("content-length")
            )
        except BodyTooLarge:
            raise Rejection(
                _status(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"request body exceeds {self._limits.max_body_bytes} bytes",
                ),
                http_status=413,
            ) from None
        if not raw.strip():
            return None
        content_type = request.headers.get("content-type", "")
        if not _JSON_TYPES.match(content_type):
            raise Rejection(
                _status(
                    grpc.StatusCode.INVALID_ARGUMENT, "the request body must be application/json"
                ),
                http_status=415,
            )
        try:
            return parse_json_body(raw)
        except RequestError as error:
            raise Rejection(bad_request(error.description, error.field)) from None

    async def _identify(self, request: HttpRequest, route: Route) -> Identity | None:
        header = request.headers.get("authorization")
        try:
            token = bearer_token([("authorization", header)] if header else [])
            if token is None:
                if route.access.public:
                    return None
                raise Rejection(
                    _status(grpc.StatusCode.UNAUTHENTICATED, "a bearer token is required"),
                    headers=[("www-authenticate", _REALM)],
                )
            return await self._verifier.verify(token)
        except DomainError as error:
            # A stale token (or keys that cannot be fetched right now) must not break a public
            # page: the call proceeds anonymously.
            if route.access.public:
                return None
            raise _rejection_of(error) from None

    def _transcode(self, route: Route, found: Match, request: HttpRequest, body: object) -> Message:
        try:
            query = parse_qsl(
                request.query_string, keep_blank_values=True, strict_parsing=False, errors="strict"
            )
            return build_request(
                self._request_types[route.grpc_path](),
                body_rule=route.body,
                body=body,
                path_values=found.path_values,
                query=query,
            )
        except UnicodeDecodeError:
            raise Rejection(bad_request("the query string is not valid UTF-8")) from None
        except RequestError as error:
            raise Rejection(bad_request(error.description, error.field)) from None

    async def _call(
        self,
        request: HttpRequest,
        route: Route,
        message: Message,
        identity: Identity | None,
        log: RequestLog,
    ) -> bytes:
        metadata = [("x-request-id", log.request_id), (FORWARDED_FOR, log.client_ip)]
        # To the user service only: the gateway's token, which makes it trust x-forwarded-for.
        metadata.extend(await self._proof.metadata(route.service_name))
        # W3C trace context of the request's span (the current one), for the service's span.
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        metadata.extend(carrier.items())
        for header in _FORWARDED_HEADERS:
            value = request.headers.get(header)
            if value is not None and _HEADER_TOKEN.match(value):
                metadata.append((header, value))
        if identity is not None:
            metadata.append(("authorization", f"Bearer {identity.token}"))
        if route.idempotency_key:
            key = request.headers.get("idempotency-key")
            if key is not None:
                if not _IDEMPOTENCY_KEY.match(key):
                    raise Rejection(
                        bad_request(
                            "Idempotency-Key must be 1-255 visible ASCII characters",
                            "Idempotency-Key",
                        )
                    )
                metadata.append(("idempotency-key", key))
        timeout = self._deadlines.timeout(
            route.method.full_name,
            (request.headers.get("grpc-timeout"), request.headers.get("x-request-timeout")),
        )
        try:
            answer = await self._upstreams.call(route, message, timeout=timeout, metadata=metadata)
        except aio.AioRpcError as error:
            code = error.code()
            log.grpc_code = code.name
            status = status_from_trailers(code, error.details() or "", error.trailing_metadata())
            headers = (
                [("www-authenticate", f'{_REALM}, error="invalid_token"')]
                if code == grpc.StatusCode.UNAUTHENTICATED
                else []
            )
            raise Rejection(status, http_status=http_status_of(code), headers=headers) from None
        log.grpc_code = "OK"
        return answer


def _status(code: grpc.StatusCode, message: str) -> status_pb2.Status:
    return status_pb2.Status(code=code.value[0], message=message)


def _rejection_of(error: DomainError) -> Rejection:
    headers: Headers = []
    if error.code == grpc.StatusCode.UNAUTHENTICATED:
        description = error.message.replace('"', "'")
        headers.append(
            (
                "www-authenticate",
                f'{_REALM}, error="invalid_token", error_description="{description}"',
            )
        )
    return Rejection(to_rpc_status(error), headers=headers)


def _tightest(decisions: list[Decision]) -> Decision:
    return min(decisions, key=lambda d: (d.allowed, d.remaining))


def limit_headers(decisions: list[Decision]) -> Headers:
    """RateLimit-* headers of the tightest of the limits a request counted against."""
    if not decisions:
        return []
    tightest = _tightest(decisions)
    return [
        ("ratelimit-limit", str(tightest.limit)),
        ("ratelimit-remaining", str(tightest.remaining)),
        ("ratelimit-reset", str(tightest.reset_seconds)),
    ]


def enforce(decisions: list[Decision]) -> None:
    """A 429 Rejection when one of the limits is exceeded."""
    tightest = _tightest(decisions)
    if tightest.allowed:
        return
    headers = limit_headers(decisions)
    status = _status(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many requests; retry later")
    status.details.add().Pack(
        error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(seconds=tightest.reset_seconds)
        )
    )
    raise Rejection(status, headers=[*headers, ("retry-after", str(tightest.reset_seconds))])
