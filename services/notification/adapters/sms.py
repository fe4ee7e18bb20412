"""The sandbox SMS provider: records what it would send, sends nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict
from pathlib import Path

from mesh.clock import utc_now

from ..service_layer.ports import TextMessage

logger = logging.getLogger(__name__)


class SandboxSmsProvider:
    """Accepts every message and appends it to `outbox_file` (JSON lines), if given."""

    def __init__(self, outbox_file: Path | None = None) -> None:
        self._outbox_file = outbox_file
        self.sent: list[TextMessage] = []

    async def send(self, message: TextMessage) -> None:
        self.sent.append(message)
        logger.info("sandbox SMS to %s: %s", message.to, message.text)
        if self._outbox_file is not None:
            line = json.dumps({**asdict(message), "time": utc_now().isoformat()})
            await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        assert self._outbox_file is not None
        self._outbox_file.parent.mkdir(parents=True, exist_ok=True)
        with self._outbox_file.open("a", encoding="utf-8") as outbox:
            outbox.write(line + "\n")
