"""Adapters that need no server: argon2 hashing and the key directory."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from services.user import keygen
from services.user.adapters.hashing import Argon2Hasher
from services.user.adapters.password_screen import ZxcvbnScreen
from services.user.adapters.signing_keys import FileKeyStore
from services.user.domain.keys import kid_created_at

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=15)


async def test_argon2id_hashes_verify_and_flag_old_parameters() -> None:
    hasher = Argon2Hasher(time_cost=1, memory_cost_kib=1024, parallelism=1)
    password_hash = await hasher.hash("correct horse 42")
    assert password_hash.startswith("$argon2id$")
    assert await hasher.verify(password_hash, "correct horse 42")
    assert not await hasher.verify(password_hash, "wrong")
    assert not await hasher.verify("not a hash", "wrong")
    stronger = Argon2Hasher(time_cost=2, memory_cost_kib=1024, parallelism=1)
    assert stronger.needs_rehash(password_hash)


def _store(directory: Path, rotate_after: timedelta = timedelta(days=30)) -> FileKeyStore:
    return FileKeyStore(directory, rotate_after=rotate_after, keep_after_retirement=TTL)


def _claims() -> dict[str, object]:
    return {"sub": "u1", "iat": int(NOW.timestamp()), "exp": int((NOW + TTL).timestamp())}


async def test_first_start_generates_a_private_key_readable_only_by_the_owner(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "keys"
    store = _store(directory)
    await store.refresh(NOW)
    [key_file] = list(directory.glob("*.pem"))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = store.sign(_claims(), NOW)
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid == key_file.stem
    public = store.public_key(kid, NOW)
    assert public is not None
    decoded = jwt.decode(
        token, public, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert decoded["sub"] == "u1"
    assert [jwk.kid for jwk in store.jwks(NOW)] == [kid]
    # A restart reuses the key instead of making a new one.
    await _store(directory).refresh(NOW)
    assert len(list(directory.glob("*.pem"))) == 1


async def test_a_loosened_key_directory_is_made_private_again(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    await _store(directory).refresh(NOW)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


async def test_rotation_keeps_the_old_key_published_until_its_tokens_expire(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path, rotate_after=timedelta(days=30))
    await store.refresh(NOW)
    old_token = store.sign(_claims(), NOW)
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    rotation_time = NOW + timedelta(days=31)
    await store.refresh(rotation_time)
    new_kid = jwt.get_unverified_header(store.sign(_claims(), rotation_time))["kid"]
    assert new_kid != old_kid
    assert {jwk.kid for jwk in store.jwks(rotation_time)} == {old_kid, new_kid}
    assert store.public_key(old_kid, rotation_time) is not None

    after_expiry = rotation_time + TTL + timedelta(seconds=1)
    await store.refresh(after_expiry)
    assert [jwk.kid for jwk in store.jwks(after_expiry)] == [new_kid]
    assert not (tmp_path / f"{old_kid}.pem").exists()


def test_keygen_writes_a_key_file_named_by_its_kid(tmp_path: Path) -> None:
    assert keygen.main([str(tmp_path)]) == 0
    [key_file] = list(tmp_path.glob("*.pem"))
    assert kid_created_at(key_file.stem) is not None


@pytest.mark.parametrize(
    "password", ["Password123", "Password1!", "Summer2024!", "Qwerty123!", "iloveyou2!"]
)
async def test_common_and_breached_pattern_passwords_are_refused_with_the_reason(
    password: str,
) -> None:
    weakness = await ZxcvbnScreen().weakness(password, ("ann@example.com", "Ann"))
    assert weakness is not None and "common" in weakness


async def test_a_password_made_of_the_users_own_details_is_refused() -> None:
    weakness = await ZxcvbnScreen().weakness("annsmith2026", ("annsmith", "Ann"))
    assert weakness is not None


@pytest.mark.parametrize(
    "password",
    [
        "correct horse 42",
        "a long passphrase 9",
        "Pw-q8Zr3LwT0xYk2-9",
        "lantern orbit velvet cactus 7 marble fjord quilt zephyr harbor ginger nimbus tundra 42 "
        "saffron walnut",
    ],
)
async def test_uncommon_passwords_pass_the_screen(password: str) -> None:
    assert await ZxcvbnScreen().weakness(password, ("ann@example.com", "Ann")) is None
