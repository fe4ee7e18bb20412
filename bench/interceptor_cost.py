"""What each server interceptor costs per call: a micro-benchmark on one in-process server.

A trivial CartService.GetCart handler (it needs a customer's token, so authentication runs for
real: an RS256 JWT verified against a local key) is served with no interceptor, then with each
interceptor alone, then with the whole runtime chain the old way (one grpc.aio interceptor per
concern) and the new way (`InterceptorChain`, composed once per method). Client and server
share one process and one uvloop; the figure is CPU microseconds per call, less the bare
server's. Writes bench/results/interceptors.md.

    .venv/bin/python -m bench.interceptor_cost [--calls 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jwt
import uvloop
from cryptography.hazmat.primitives.asymmetric import rsa
from grpc import aio
from jwt.algorithms import RSAAlgorithm
from opentelemetry.sdk.trace import TracerProvider
from shop.cart.v1 import cart_pb2, cart_pb2_grpc

from bench import machine
from mesh.auth import JwksCache, JwtVerifier
from mesh.auth.access import AccessPolicy
from mesh.auth.interceptor import AuthInterceptor
from mesh.auth.verified_tokens import CachingVerifier
from mesh.interceptors.chain import InterceptorChain
from mesh.interceptors.errors import ErrorInterceptor
from mesh.interceptors.request_context import RequestContextInterceptor
from mesh.interceptors.validation import ValidationInterceptor
from mesh.metrics import MetricsInterceptor, ServerMetrics
from mesh.tracing import ServerTracingInterceptor, create_tracer_provider

CART = "shop.cart.v1.CartService"
RESULTS = Path(__file__).parent / "results" / "interceptors.md"


class Keys:
    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._jwk = {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}

    async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
        return [self._jwk]


class Cart(cart_pb2_grpc.CartServiceServicer):
    async def GetCart(  # noqa: N802 (generated name)
        self, request: cart_pb2.GetCartRequest, context: aio.ServicerContext[Any, Any]
    ) -> cart_pb2.Cart:
        return cart_pb2.Cart(user_id=request.user_id)


def _token(key: rsa.RSAPrivateKey) -> str:
    now = int(time.time())
    claims = {
        "sub": "u1",
        "roles": ["customer"],
        "iss": "shopmesh",
        "aud": "shopmesh",
        "iat": now,
        "exp": now + 3600,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


Factory = Callable[[], list[Any]]


async def _cpu_per_call(interceptors: list[Any], token: str, calls: int) -> float:
    server = aio.server(interceptors=interceptors)
    cart_pb2_grpc.add_CartServiceServicer_to_server(Cart(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    metadata = (("authorization", f"Bearer {token}"),)
    request = cart_pb2.GetCartRequest(user_id="u1")
    try:
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = cart_pb2_grpc.CartServiceStub(channel)
            for _ in range(200):  # warm-up: connections, caches, JIT-free but lazy imports
                await stub.GetCart(request, metadata=metadata)

            async def worker(count: int) -> None:
                for _ in range(count):
                    await stub.GetCart(request, metadata=metadata)

            started = time.process_time()
            await asyncio.gather(*(worker(calls // 8) for _ in range(8)))
            return (time.process_time() - started) / (calls // 8 * 8) * 1e6
    finally:
        await server.stop(None)


def _configurations(key: rsa.RSAPrivateKey, provider: TracerProvider) -> dict[str, Factory]:
    policy = AccessPolicy.from_descriptors([CART])

    def verifier() -> JwtVerifier:
        return JwtVerifier(JwksCache(Keys(key)), issuer="shopmesh", audience="shopmesh")

    def chain_parts() -> list[Any]:
        # As the runtime assembles it (mesh.bootstrap): verified tokens are remembered.
        return [
            ServerTracingInterceptor(provider),
            RequestContextInterceptor(),
            MetricsInterceptor(ServerMetrics()),
            ErrorInterceptor(),
            AuthInterceptor(CachingVerifier(verifier()), policy),
            ValidationInterceptor(),
        ]

    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return {
        "none": lambda: [],
        "tracing (OpenTelemetry's grpc.aio interceptor)": lambda: [
            aio_server_interceptor(tracer_provider=provider)  # type: ignore[no-untyped-call]
        ],
        "tracing (mesh, unsampled)": lambda: [ServerTracingInterceptor(provider)],
        "request context": lambda: [RequestContextInterceptor()],
        "metrics": lambda: [MetricsInterceptor(ServerMetrics())],
        "errors": lambda: [ErrorInterceptor()],
        "auth (RS256 JWT verified per call)": lambda: [AuthInterceptor(verifier(), policy)],
        "auth (verified token remembered, as the runtime runs it)": lambda: [
            AuthInterceptor(CachingVerifier(verifier()), policy)
        ],
        "validation (protovalidate)": lambda: [ValidationInterceptor()],
        "all six, one grpc.aio interceptor each": chain_parts,
        "all six, InterceptorChain": lambda: [InterceptorChain(chain_parts())],
    }


async def _run(calls: int, rounds: int) -> list[tuple[str, float]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = _token(key)
    provider = create_tracer_provider("bench", None)
    configurations = _configurations(key, provider)
    best: dict[str, float] = {}
    for _ in range(rounds):  # interleaved rounds, best of: the machine is shared
        for name, factory in configurations.items():
            cost = await _cpu_per_call(factory(), token, calls)
            best[name] = min(best.get(name, cost), cost)
    return list(best.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = uvloop.run(_run(args.calls, args.rounds))
    bare = dict(rows)["none"]
    lines = [
        "# Per-call cost of the server interceptors",
        "",
        f"CPU microseconds per unary call (client and server in one process), best of "
        f"{args.rounds} interleaved rounds of {args.calls} calls, 8 in flight.",
        "",
        "| interceptors | CPU µs per call | above bare server |",
        "|---|---:|---:|",
    ]
    for name, cost in rows:
        lines.append(f"| {name} | {cost:.0f} | {cost - bare:+.0f} |")
    described = machine.describe()
    lines += ["", "Machine: " + ", ".join(f"{k} {v}" for k, v in described.items()), ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))  # noqa: T201 - the command's output


if __name__ == "__main__":
    main()
