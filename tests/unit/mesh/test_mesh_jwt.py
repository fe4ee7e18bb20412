from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from mesh import rbac
from mesh.auth.jwt import JwksCache, JwtVerifier, claims_of_verified
from mesh.errors import UnauthenticatedError, UnavailableError

ISSUER = AUDIENCE = "shopmesh"


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


class FakeKeySource:
    def __init__(self, *jwks: dict[str, Any]) -> None:
        self.jwks = list(jwks)
        self.fetches = 0

    async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
        self.fetches += 1
        return self.jwks


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "u1",
        "roles": ["customer"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: rsa.RSAPrivateKey, kid: str = "k1", **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm="RS256", headers={"kid": kid})


def verifier_for(source: FakeKeySource, clock: FakeClock | None = None) -> JwtVerifier:
    cache = JwksCache(source, min_refresh_seconds=30, clock=clock or FakeClock())
    return JwtVerifier(cache, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=0)


@pytest.fixture
def trusted(rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> rsa.RSAPrivateKey:
    return rsa_keys[0]


@pytest.fixture
def stranger(rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> rsa.RSAPrivateKey:
    return rsa_keys[1]


async def test_valid_token_gives_identity(trusted: rsa.RSAPrivateKey) -> None:
    token = sign(trusted, roles=["admin"])
    identity = await verifier_for(FakeKeySource(jwk(trusted, "k1"))).verify(token)
    assert identity.subject == "u1"
    assert identity.roles == {"admin"}
    assert identity.permissions == rbac.ROLE_PERMISSIONS[rbac.ADMIN]
    assert identity.token == token


async def expect_rejected(verifier: JwtVerifier, token: str, match: str) -> None:
    with pytest.raises(UnauthenticatedError, match=match):
        await verifier.verify(token)


async def test_expired_token(trusted: rsa.RSAPrivateKey) -> None:
    token = sign(trusted, exp=int(time.time()) - 5)
    await expect_rejected(verifier_for(FakeKeySource(jwk(trusted, "k1"))), token, "expired")


async def test_tampered_payload(trusted: rsa.RSAPrivateKey) -> None:
    header, _, signature = sign(trusted).split(".")
    forged = (
        base64.urlsafe_b64encode(json.dumps(claims(roles=["admin"])).encode()).rstrip(b"=").decode()
    )
    token = f"{header}.{forged}.{signature}"
    await expect_rejected(verifier_for(FakeKeySource(jwk(trusted, "k1"))), token, "invalid")


async def test_signed_by_another_key_with_a_known_kid(
    trusted: rsa.RSAPrivateKey, stranger: rsa.RSAPrivateKey
) -> None:
    token = sign(stranger, kid="k1")
    await expect_rejected(verifier_for(FakeKeySource(jwk(trusted, "k1"))), token, "invalid")


async def test_alg_none_is_rejected(trusted: rsa.RSAPrivateKey) -> None:
    token = jwt.encode(claims(), "", algorithm="none", headers={"kid": "k1"})
    await expect_rejected(verifier_for(FakeKeySource(jwk(trusted, "k1"))), token, "RS256")


async def test_hs256_with_the_public_key_as_secret_is_rejected(
    trusted: rsa.RSAPrivateKey,
) -> None:
    public_pem = trusted.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode()
    ).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    signature = base64.urlsafe_b64encode(
        hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest()
    ).rstrip(b"=")
    token = b".".join((header, payload, signature)).decode()
    await expect_rejected(verifier_for(FakeKeySource(jwk(trusted, "k1"))), token, "RS256")


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"iss": "someone-else"}, "invalid"),
        ({"aud": "another-audience"}, "invalid"),
        ({"exp": None}, "invalid"),
        ({"roles": "admin"}, "roles"),
    ],
)
async def test_claims_are_checked(
    trusted: rsa.RSAPrivateKey, overrides: dict[str, Any], match: str
) -> None:
    token = sign(trusted, **overrides)
    await expect_rejected(verifier_for(FakeKeySource(jwk(trusted, "k1"))), token, match)


async def test_garbage_and_missing_kid(trusted: rsa.RSAPrivateKey) -> None:
    verifier = verifier_for(FakeKeySource(jwk(trusted, "k1")))
    await expect_rejected(verifier, "not-a-jwt", "malformed")
    no_kid = jwt.encode(claims(), trusted, algorithm="RS256")
    await expect_rejected(verifier, no_kid, "key id")


async def test_unknown_kid_refreshes_the_keys(
    trusted: rsa.RSAPrivateKey, stranger: rsa.RSAPrivateKey
) -> None:
    source = FakeKeySource(jwk(trusted, "k1"))
    clock = FakeClock()
    verifier = verifier_for(source, clock)
    await verifier.verify(sign(trusted, kid="k1"))
    assert source.fetches == 1

    # The user service rotates to k2; the first token with k2 triggers one refetch.
    source.jwks.append(jwk(stranger, "k2"))
    clock.now += 31
    identity = await verifier.verify(sign(stranger, kid="k2"))
    assert identity.subject == "u1"
    assert source.fetches == 2
    await verifier.verify(sign(trusted, kid="k1"))
    assert source.fetches == 2


async def test_unknown_kid_refresh_is_rate_limited(trusted: rsa.RSAPrivateKey) -> None:
    source = FakeKeySource(jwk(trusted, "k1"))
    clock = FakeClock()
    verifier = verifier_for(source, clock)
    await verifier.verify(sign(trusted, kid="k1"))
    for n in range(5):
        await expect_rejected(verifier, sign(trusted, kid=f"forged-{n}"), "unknown")
    assert source.fetches == 1
    clock.now += 31
    await expect_rejected(verifier, sign(trusted, kid="forged-x"), "unknown")
    assert source.fetches == 2


async def test_unreachable_key_source_is_unavailable(trusted: rsa.RSAPrivateKey) -> None:
    class Down:
        async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
            raise ConnectionError("user service down")

    verifier = JwtVerifier(JwksCache(Down()), issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(UnavailableError):
        await verifier.verify(sign(trusted))


async def test_keys_are_refetched_when_old_so_removed_keys_stop_verifying(
    trusted: rsa.RSAPrivateKey, stranger: rsa.RSAPrivateKey
) -> None:
    source = FakeKeySource(jwk(trusted, "k1"), jwk(stranger, "k2"))
    clock = FakeClock()
    verifier = JwtVerifier(
        JwksCache(source, min_refresh_seconds=30, max_age_seconds=600, clock=clock),
        issuer=ISSUER,
        audience=AUDIENCE,
    )
    await verifier.verify(sign(stranger, kid="k2"))
    source.jwks = [jwk(trusted, "k1")]  # k2 retired by the user service
    clock.now += 601
    await expect_rejected(verifier, sign(stranger, kid="k2"), "unknown")
    assert source.fetches == 2
    await verifier.verify(sign(trusted, kid="k1"))


async def test_known_keys_survive_a_failing_refetch(trusted: rsa.RSAPrivateKey) -> None:
    source = FakeKeySource(jwk(trusted, "k1"))
    clock = FakeClock()
    verifier = JwtVerifier(
        JwksCache(source, max_age_seconds=600, clock=clock), issuer=ISSUER, audience=AUDIENCE
    )
    await verifier.verify(sign(trusted))

    async def down() -> Sequence[Mapping[str, Any]]:
        raise ConnectionError("user service restarting")

    source.fetch_jwks = down  # type: ignore[method-assign]
    clock.now += 601
    assert (await verifier.verify(sign(trusted))).subject == "u1"


def test_claims_of_a_verified_token_are_read_without_the_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"sub": "u1", "sid": "s-9", "exp": 1_900_000_000}, key, algorithm="RS256")
    assert claims_of_verified(token) == {"sub": "u1", "sid": "s-9", "exp": 1_900_000_000}


@pytest.mark.parametrize(
    "token",
    ["", "opaque", "a.%%%.c", "a." + base64.urlsafe_b64encode(b"[1, 2]").decode() + ".c"],
)
def test_claims_of_something_that_is_no_jwt_are_empty(token: str) -> None:
    assert claims_of_verified(token) == {}
