"""Email over SMTP with aiosmtplib, and which SMTP failures are worth retrying."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

import aiosmtplib

from ..domain.delivery import PermanentDeliveryError, TransientDeliveryError
from ..service_layer.ports import Email

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmtpServer:
    hostname: str
    port: int
    use_tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """smtp://[user:password@]host:port, or smtps:// for implicit TLS."""
        parts = urlsplit(url)
        use_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if use_tls else 25),
            use_tls=use_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpSender:
    def __init__(self, server: SmtpServer, sender: str, *, timeout_seconds: float) -> None:
        self._server = server
        self._from = sender
        self._timeout = timeout_seconds

    def compose(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._from
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        # The same Message-ID on every attempt: a resend after an interrupted attempt can be
        # recognised (and collapsed) by the receiving side.
        message["Message-ID"] = email.message_id
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    async def send(self, email: Email) -> None:
        try:
            await aiosmtplib.send(
                self.compose(email),
                hostname=self._server.hostname,
                port=self._server.port,
                use_tls=self._server.use_tls,
                start_tls=False,
                username=self._server.username,
                password=self._server.password,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise _by_code(min(codes, default=550), str(error)) from error
        except aiosmtplib.SMTPResponseException as error:
            raise _by_code(error.code, f"{error.code} {error.message}") from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            # Connection refused or lost, timeouts: the server may be back soon.
            raise TransientDeliveryError(f"{type(error).__name__}: {error}") from error


def _by_code(code: int, text: str) -> Exception:
    if 400 <= code < 500:
        return TransientDeliveryError(text)
    return PermanentDeliveryError(text)
