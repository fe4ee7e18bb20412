"""Common and breached-pattern passwords, told by zxcvbn (Dropbox's estimator, whose package
ships its lists offline: the 30,000 most common passwords from breach corpora, names, words,
keyboard walks, dates, l33t and repeats)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from zxcvbn import zxcvbn

# zxcvbn scores 0..4; 3 means "safely unguessable" for an online attacker and a slow hash.
MINIMUM_SCORE = 3
# The estimator's work grows with the length; the policy's own maximum bounds it.
_MAX_CHECKED_LENGTH = 128


class ZxcvbnScreen:
    def __init__(self, minimum_score: int = MINIMUM_SCORE) -> None:
        self._minimum = minimum_score

    async def weakness(self, password: str, user_inputs: Sequence[str]) -> str | None:
        # Pure CPU for a few milliseconds: off the event loop like the hashing.
        return await asyncio.to_thread(self._weakness, password, tuple(user_inputs))

    def _weakness(self, password: str, user_inputs: tuple[str, ...]) -> str | None:
        if not password:
            return None
        checked = password[:_MAX_CHECKED_LENGTH]
        result = zxcvbn(checked, user_inputs=list(user_inputs), max_length=_MAX_CHECKED_LENGTH)
        if result["score"] >= self._minimum:
            return None
        warning = str(result["feedback"].get("warning") or "").rstrip(".")
        reason = warning[0].lower() + warning[1:] if warning else "it follows a common pattern"
        return f"is a common or easily guessed password ({reason})"
