"""Signing-key rotation on a real user service: the new key signs, the old one still verifies."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from shop.user.v1 import user_pb2, user_pb2_grpc

from launcher.testing import DatabaseFactory
from services.user.adapters.signing_keys import write_new_key
from services.user.main import build

from .harness import service_running, user_environ

PASSWORD = "correct horse 42"


async def test_a_due_rotation_adds_a_key_and_tokens_of_the_old_key_keep_working(
    postgres_dsn: DatabaseFactory, kafka_bootstrap: str, tmp_path: Path
) -> None:
    environ = user_environ(
        postgres_dsn, kafka_bootstrap, tmp_path, JWT_KEY_ROTATE_AFTER_SECONDS="60"
    )
    key_dir = Path(environ["JWT_KEY_DIR"])
    old_kid = write_new_key(key_dir, datetime.now(UTC) - timedelta(minutes=5))
    old_key = serialization.load_pem_private_key(
        (key_dir / f"{old_kid}.pem").read_bytes(), password=None
    )

    async with service_running("user", build, environ) as running:
        users = user_pb2_grpc.UserServiceStub(running.channel)
        email = "rotating@example.com"
        await users.Register(
            user_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="R")
        )
        login = await users.Login(user_pb2.LoginRequest(email=email, password=PASSWORD))
        new_kid = jwt.get_unverified_header(login.access_token)["kid"]
        assert new_kid != old_kid

        jwks = await users.GetJwks(user_pb2.GetJwksRequest())
        assert {key.kid for key in jwks.keys} == {old_kid, new_kid}

        # A token the old key signed before the rotation is still accepted.
        now = int(time.time())
        old_token = jwt.encode(
            {
                "sub": login.user.id,
                "roles": ["customer"],
                "iss": "shopmesh",
                "aud": "shopmesh",
                "iat": now - 60,
                "exp": now + 600,
            },
            old_key,  # type: ignore[arg-type]
            algorithm="RS256",
            headers={"kid": old_kid},
        )
        user = await users.GetUser(
            user_pb2.GetUserRequest(id=login.user.id),
            metadata=(("authorization", f"Bearer {old_token}"),),
        )
        assert user.email == email


@pytest.mark.parametrize("tampered", ["kid", "signature"])
async def test_tokens_with_unknown_keys_or_bad_signatures_are_refused(
    users: user_pb2_grpc.UserServiceAsyncStub, tmp_path: Path, tampered: str
) -> None:
    email = f"tamper-{tampered}-{tmp_path.name}@example.com"
    await users.Register(user_pb2.RegisterRequest(email=email, password=PASSWORD, display_name="T"))
    login = await users.Login(user_pb2.LoginRequest(email=email, password=PASSWORD))
    if tampered == "kid":
        # Well formed and signed, but by a key the service never published.
        forged_kid = write_new_key(tmp_path, datetime.now(UTC))
        forged_key = serialization.load_pem_private_key(
            (tmp_path / f"{forged_kid}.pem").read_bytes(), password=None
        )
        claims = jwt.decode(login.access_token, options={"verify_signature": False})
        token = jwt.encode(
            claims,
            forged_key,  # type: ignore[arg-type]
            algorithm="RS256",
            headers={"kid": forged_kid},
        )
    else:
        header, payload, signature = login.access_token.split(".")
        token = f"{header}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await users.GetUser(
            user_pb2.GetUserRequest(id=login.user.id),
            metadata=(("authorization", f"Bearer {token}"),),
        )
    assert error.value.code() is grpc.StatusCode.UNAUTHENTICATED
