"""Gateway settings, parsed once from the environment (errors name the variable)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from mesh.settings import LOG_LEVELS, ClientSettings, Env, SettingsError

__all__ = ["GatewaySettings", "IpNetwork"]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_CORS_ORIGIN: Final = "https://ecommerce-example.com"
# Scanners and scrapers that have no business on a shop API; browsers and SDKs pass.
DEFAULT_BOT_PATTERNS: Final = (
    r"(?i)sqlmap",
    r"(?i)nikto",
    r"(?i)nmap",
    r"(?i)masscan",
    r"(?i)zgrab",
    r"(?i)dirbuster",
    r"(?i)gobuster",
    r"(?i)scrapy",
    r"(?i)ahrefsbot",
    r"(?i)semrushbot",
    r"(?i)mj12bot",
)
# Login is the brute-force target: it gets its own, stricter per-IP limit.
LOGIN_METHOD: Final = "shop.user.v1.UserService.Login"
# Checkout may wait for a slow payment provider, retried with the same key.
DEFAULT_ROUTE_TIMEOUTS: Final = {"shop.order.v1.OrderService.PlaceOrder": 20.0}


def default_workers() -> int:
    """As many workers as this process may run on cores (at most 64)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 64))


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    host: str = "0.0.0.0"
    port: int = 8080
    # One worker process per core by default (GATEWAY_WORKERS overrides).
    workers: int = field(default_factory=default_workers)
    metrics_port: int = 9080
    log_level: str = "INFO"
    otlp_endpoint: str | None = None
    state_dir: Path = Path(".shop")
    jwt_issuer: str = "shopmesh"
    jwt_audience: str = "shopmesh"
    # Requests a minute: per client IP over all routes, per signed-in user, per route and IP.
    rate_limit_per_minute: int = 60
    user_rate_limit_per_minute: int = 600
    route_rate_limits: Mapping[str, int] = field(default_factory=lambda: {LOGIN_METHOD: 10})
    redis_url: str | None = None
    cors_origins: tuple[str, ...] = (DEFAULT_CORS_ORIGIN,)
    trusted_proxies: tuple[IpNetwork, ...] = ()
    max_body_bytes: int = 1_048_576
    bot_patterns: tuple[str, ...] = DEFAULT_BOT_PATTERNS
    default_timeout_seconds: float = 10.0
    max_timeout_seconds: float = 30.0
    route_timeouts: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_ROUTE_TIMEOUTS)
    )
    clients: ClientSettings = field(default_factory=lambda: ClientSettings(addresses={}))
    # Short names (`user`, `catalog`) of the services /readyz waits for; empty: every service
    # that has a route. A partial deployment lists the services it runs.
    ready_upstreams: tuple[str, ...] = ()
    # Strict-Transport-Security max-age in seconds; 0 (the default) sends none, as fits plain
    # local HTTP. Set it where the gateway is reached over HTTPS only.
    hsts_max_age: int = 0
    # The storefront's files; None: web/ in the repository (gateway.storefront.default_web_dir).
    web_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GatewaySettings:
        env = Env(environ)
        route_limits = {
            LOGIN_METHOD: env.integer("GATEWAY_LOGIN_RATE_LIMIT_PER_MINUTE", 10, minimum=1)
        }
        route_limits.update(
            _int_map(env, "GATEWAY_ROUTE_RATE_LIMITS", env.csv("GATEWAY_ROUTE_RATE_LIMITS"))
        )
        return cls(
            host=env.string("GATEWAY_HOST", "0.0.0.0"),
            port=env.port("GATEWAY_PORT", 8080),
            workers=env.integer("GATEWAY_WORKERS", default_workers(), minimum=1, maximum=64),
            metrics_port=env.port("GATEWAY_METRICS_PORT", 9080),
            log_level=env.choice("LOG_LEVEL", LOG_LEVELS, "INFO"),
            otlp_endpoint=env.optional_string("OTEL_EXPORTER_OTLP_ENDPOINT"),
            state_dir=Path(env.string("SHOP_STATE_DIR", ".shop")),
            jwt_issuer=env.string("JWT_ISSUER", "shopmesh"),
            jwt_audience=env.string("JWT_AUDIENCE", "shopmesh"),
            rate_limit_per_minute=env.integer("GATEWAY_RATE_LIMIT_PER_MINUTE", 60, minimum=1),
            user_rate_limit_per_minute=env.integer(
                "GATEWAY_USER_RATE_LIMIT_PER_MINUTE", 600, minimum=1
            ),
            route_rate_limits=route_limits,
            redis_url=env.optional_string("REDIS_URL"),
            cors_origins=_cors_origins(env.csv("GATEWAY_CORS_ORIGINS", (DEFAULT_CORS_ORIGIN,))),
            trusted_proxies=_networks(env.csv("GATEWAY_TRUSTED_PROXIES")),
            max_body_bytes=env.integer("GATEWAY_MAX_BODY_BYTES", 1_048_576, minimum=1),
            bot_patterns=env.csv("GATEWAY_BOT_PATTERNS", DEFAULT_BOT_PATTERNS),
            default_timeout_seconds=env.number("GATEWAY_TIMEOUT_SECONDS", 10.0, minimum=0.01),
            max_timeout_seconds=env.number("GATEWAY_MAX_TIMEOUT_SECONDS", 30.0, minimum=0.01),
            route_timeouts={
                **DEFAULT_ROUTE_TIMEOUTS,
                **{
                    name: float(value)
                    for name, value in _int_map(
                        env, "GATEWAY_ROUTE_TIMEOUTS", env.csv("GATEWAY_ROUTE_TIMEOUTS")
                    ).items()
                },
            },
            clients=ClientSettings.from_env(environ),
            ready_upstreams=env.csv("GATEWAY_UPSTREAMS"),
            hsts_max_age=env.integer("GATEWAY_HSTS_MAX_AGE", 0, minimum=0),
            web_dir=_optional_path(env.optional_string("GATEWAY_WEB_DIR")),
        )


def _optional_path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _cors_origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    """The gateway always allows credentials (the token travels in Authorization), so a
    wildcard or the opaque `null` origin would let any page act as the signed-in shopper."""
    for origin in origins:
        if "*" in origin or origin == "null":
            raise SettingsError(
                "GATEWAY_CORS_ORIGINS",
                f"{origin!r} is refused: CORS responses allow credentials; list exact origins",
            )
    return origins


def _networks(items: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items)
    except ValueError as error:
        raise SettingsError("GATEWAY_TRUSTED_PROXIES", str(error)) from None


def _int_map(env: Env, name: str, items: tuple[str, ...]) -> dict[str, int]:
    """`pkg.Service.Method=10,...` (the method's full name, as in the descriptors)."""
    parsed: dict[str, int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip().isdigit() or int(value) < 1:
            raise SettingsError(
                name, f"expected <full method name>=<positive integer>, got {item!r}"
            )
        parsed[key.strip()] = int(value)
    return parsed
