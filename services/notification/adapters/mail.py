"""Email over SMTP with aiosmtplib, and which SMTP failures are worth retrying."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
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
        # What EHLO names this host: aiosmtplib would look it up (a reverse DNS query, in a
        # thread) for every connection; the answer does not change while the process runs.
        self._local_hostname: str | None = None

    def compose(self, email: Email) -> Message:
        """The message as sent: text and HTML alternatives.

        Built with the compat32 MIME classes: the modern `EmailMessage` parses every header it
        is given through its header registry and costs three times as much to build and
        flatten, for the same bytes on the wire.
        """
        message = MIMEMultipart("alternative")
        message["From"] = _header(self._from)
        message["To"] = _header(email.to)
        message["Subject"] = _header(email.subject)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        # The same Message-ID on every attempt: a resend after an interrupted attempt can be
        # recognised (and collapsed) by the receiving side.
        message["Message-ID"] = email.message_id
        message.attach(_text_part(email.text, "plain"))
        message.attach(_text_part(email.html, "html"))
        return message

    async def _ehlo_name(self) -> str:
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        return self._local_hostname

    async def send(self, email: Email) -> None:
        try:
            await aiosmtplib.send(
                self.compose(email),
                hostname=self._server.hostname,
                port=self._server.port,
                use_tls=self._server.use_tls,
                local_hostname=await self._ehlo_name(),
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


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP  # readable in a mail file, unlike base64


def _header(value: str) -> str:
    """ASCII as it is; anything else as RFC 2047 encoded words."""
    return value if value.isascii() else Header(value, "utf-8").encode()


def _text_part(body: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype)
    part.set_payload(body, "us-ascii" if body.isascii() else _UTF8)
    return part


def _by_code(code: int, text: str) -> Exception:
    if 400 <= code < 500:
        return TransientDeliveryError(text)
    return PermanentDeliveryError(text)
