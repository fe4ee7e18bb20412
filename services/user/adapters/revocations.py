"""Revoked sessions in Redis, where the gateway looks before it lets an access token through.

One key per session (`shop:revoked-session:<sid>`), expiring when the session's last access
token would have expired anyway, so the set stays as small as the number of recent logouts.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from redis.asyncio import Redis

logger = logging.getLogger(__name__)

KEY_PREFIX = "shop:revoked-session:"


def revoked_session_key(session_id: str) -> str:
    return KEY_PREFIX + session_id


class RedisSessionRevocations:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def revoke(self, session_id: str, ttl: timedelta) -> None:
        seconds = max(1, int(ttl.total_seconds()) + 1)
        await self._redis.set(revoked_session_key(session_id), b"1", ex=seconds)


class UnpublishedRevocations:
    """Without Redis nobody can be told: access tokens then stay valid until they expire."""

    async def revoke(self, session_id: str, ttl: timedelta) -> None:
        logger.warning("REDIS_URL is not set: session %s stays usable until it expires", session_id)
