"""RS256 signing keys kept as PEM files in one directory (`<kid>.pem`).

Locally the directory is under the state directory and the first start generates a key; in
the cluster it is a read-only Secret mount whose files are added by the operator. Keys never
enter git or the database.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mesh.clock import utc_now

from ..domain.keys import KeyEntry, KeyRing, kid_created_at, new_kid

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
_KEY_BITS = 2048


@dataclass(frozen=True, slots=True)
class PublicJwk:
    kid: str
    n: str
    e: str
    kty: str = "RSA"
    use: str = "sig"
    alg: str = ALGORITHM


class KeyDirectoryError(RuntimeError):
    pass


class FileKeyStore:
    def __init__(
        self,
        directory: Path,
        *,
        rotate_after: timedelta,
        keep_after_retirement: timedelta,
    ) -> None:
        self._directory = directory
        self._rotate_after = rotate_after
        self._keep_after_retirement = keep_after_retirement
        self._ring: KeyRing[rsa.RSAPrivateKey] = KeyRing(())

    async def refresh(self, now: datetime) -> None:
        """Reload the directory, add a key when due (if writable), drop expired key files."""
        self._ring = await asyncio.to_thread(self._refresh, now)

    def sign(self, claims: Mapping[str, Any], now: datetime) -> str:
        active = self._ring.active(now)
        if active is None:
            raise KeyDirectoryError(f"no usable signing key in {self._directory}")
        return jwt.encode(
            dict(claims), active.key, algorithm=ALGORITHM, headers={"kid": active.kid}
        )

    def verify(self, token: str, audience: str, issuer: str, now: datetime) -> Mapping[str, Any]:
        """Claims of a token signed with one of our published keys; ValueError otherwise."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.public_key(kid, now) if isinstance(kid, str) else None
            if key is None:
                raise ValueError("signed with no key of ours")
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise ValueError(str(error)) from None
        return claims

    def public_key(self, kid: str, now: datetime) -> rsa.RSAPublicKey | None:
        for entry in self._ring.published(now, self._keep_after_retirement):
            if entry.kid == kid:
                return entry.key.public_key()
        return None

    def jwks(self, now: datetime) -> list[PublicJwk]:
        return [
            _public_jwk(entry) for entry in self._ring.published(now, self._keep_after_retirement)
        ]

    async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
        """The runtime's `KeySource`: this service verifies tokens with its own keys."""
        return [asdict(key) for key in self.jwks(utc_now())]

    def _refresh(self, now: datetime) -> KeyRing[rsa.RSAPrivateKey]:
        ring = self._load()
        if ring.needs_rotation(now, self._rotate_after):
            if self._writable():
                write_new_key(self._directory, now)
                ring = self._load()
            elif ring.active(now) is None:
                raise KeyDirectoryError(
                    f"JWT_KEY_DIR {self._directory} holds no signing key and is not writable"
                )
            else:
                logger.warning("signing key due for rotation, but %s is read-only", self._directory)
        if self._writable():
            for entry in ring.expired(now, self._keep_after_retirement):
                (self._directory / f"{entry.kid}.pem").unlink(missing_ok=True)
                logger.info("deleted retired signing key %s", entry.kid)
            ring = KeyRing(tuple(ring.published(now, self._keep_after_retirement)))
        return ring

    def _load(self) -> KeyRing[rsa.RSAPrivateKey]:
        entries: list[KeyEntry[rsa.RSAPrivateKey]] = []
        if not self._directory.is_dir():
            return KeyRing(())
        for path in sorted(self._directory.glob("*.pem")):
            created_at = kid_created_at(path.stem)
            if created_at is None:
                logger.warning("ignoring %s: the file name is not a key id", path.name)
                continue
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise KeyDirectoryError(f"{path.name} is not an RSA private key")
            entries.append(KeyEntry(path.stem, created_at, key))
        entries.sort(key=lambda entry: entry.kid)
        return KeyRing(tuple(entries))

    def _writable(self) -> bool:
        try:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return False
        if not os.access(self._directory, os.W_OK):
            return False
        if self._directory.stat().st_uid == os.geteuid():
            # Private keys: a directory we own stays ours alone, whoever loosened it.
            self._directory.chmod(0o700)
        return True


def write_new_key(directory: Path, now: datetime) -> str:
    """Creates `<kid>.pem` (mode 0600) in `directory` and returns the kid."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    kid = new_kid(now)
    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = directory / f"{kid}.pem"
    # Write under a temporary name and rename, so another replica never reads half a key.
    partial = path.with_suffix(".pem.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    partial.rename(path)
    logger.info("generated signing key %s", kid)
    return kid


def _public_jwk(entry: KeyEntry[rsa.RSAPrivateKey]) -> PublicJwk:
    numbers = entry.key.public_key().public_numbers()
    return PublicJwk(kid=entry.kid, n=_b64_uint(numbers.n), e=_b64_uint(numbers.e))


def _b64_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
