"""Read the mail the SMTP capture server stored (a Maildir under the state directory)."""

from __future__ import annotations

import email
import email.policy
import mailbox
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path


class Mailbox:
    """Captured messages, oldest first."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def messages(self) -> list[EmailMessage]:
        if not (self.path / "new").exists():
            return []
        files = sorted(
            (p for sub in ("new", "cur") for p in (self.path / sub).iterdir() if p.is_file()),
            key=lambda p: (p.stat().st_mtime_ns, p.name),
        )
        return [_parse(p.read_bytes()) for p in files]

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose To header names `address` (case-insensitive)."""
        wanted = address.lower()
        return [m for m in self.messages() if wanted in str(m.get("To", "")).lower()]

    def wait_for(
        self, match: Callable[[EmailMessage], bool], timeout: float = 15.0
    ) -> EmailMessage:
        """The first message matching `match`, polling until it arrives."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages():
                if match(message):
                    return message
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching mail in {self.path} after {timeout:.0f}s")
            time.sleep(0.2)

    def clear(self) -> None:
        box = mailbox.Maildir(self.path, create=True)
        box.clear()


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body_text(message: EmailMessage) -> str:
    """The plain-text body (or the HTML one when there is no plain part)."""
    part = message.get_body(preferencelist=("plain", "html"))
    return "" if part is None else str(part.get_content())
