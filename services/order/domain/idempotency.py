"""Idempotency keys for PlaceOrder: the key's rules and the request fingerprint stored with it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass

from mesh.errors import AbortedError, FieldViolation, InvalidArgumentError

from .model import Address

IDEMPOTENCY_HEADER = "idempotency-key"
_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


def require_key(key: str | None) -> str:
    """PlaceOrder without a key could charge twice on a client retry, so it is refused."""
    if not key:
        raise InvalidArgumentError(
            "PlaceOrder requires an Idempotency-Key header",
            reason="IDEMPOTENCY_KEY_REQUIRED",
            violations=[
                FieldViolation(
                    IDEMPOTENCY_HEADER,
                    "required: a unique value per checkout attempt (e.g. a UUID), "
                    "reused only when retrying that same attempt",
                )
            ],
        )
    if not _KEY_PATTERN.fullmatch(key):
        raise InvalidArgumentError(
            "the Idempotency-Key header is malformed",
            reason="IDEMPOTENCY_KEY_INVALID",
            violations=[
                FieldViolation(IDEMPOTENCY_HEADER, "must be 1-255 visible ASCII characters")
            ],
        )
    return key


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    user_id: str
    payment_token: str
    shipping_address: Address

    def fingerprint(self) -> str:
        """A stable hash of what the client asked for; the request itself is not stored."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    user_id: str
    key: str
    request_hash: str
    order_id: str

    def check_same_request(self, request_hash: str) -> None:
        if request_hash != self.request_hash:
            raise AbortedError(
                "this Idempotency-Key was already used for a different PlaceOrder request; "
                "use a new key for a new checkout",
                reason="IDEMPOTENCY_KEY_REUSED",
                metadata={"order_id": self.order_id},
            )
