"""The SMTP capture server: real SMTP in, a Maildir out that the test mailbox reads."""

from __future__ import annotations

import asyncio
import socket
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from launcher.mailbox import Mailbox, body_text
from launcher.mailcapture import serve

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def message(to: str, subject: str, text: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "shop@shopmesh.example.com"
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(text)
    mail.add_alternative(f"<p>{text}</p>", subtype="html")
    return mail


async def test_every_message_is_stored_whole_with_its_envelope(tmp_path: Path) -> None:
    port = free_port()
    maildir = tmp_path / "mail"
    server = asyncio.create_task(serve("127.0.0.1", port, maildir))
    try:
        for _ in range(50):
            try:
                await aiosmtplib.send(
                    message("ada@example.com", "Your order 42 was paid", "Thank you, Ada."),
                    hostname="127.0.0.1",
                    port=port,
                )
                break
            except aiosmtplib.SMTPConnectError:
                await asyncio.sleep(0.1)
        await aiosmtplib.send(
            message("zoe@example.com", "Bestellung über 12,50 €", "Grüße\nund Dank"),
            hostname="127.0.0.1",
            port=port,
        )
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)

    ada, zoe = Mailbox(maildir).messages()
    assert (ada["Subject"], ada["X-RcptTo"]) == ("Your order 42 was paid", "ada@example.com")
    assert ada["X-MailFrom"] == "shop@shopmesh.example.com"
    assert body_text(ada).strip() == "Thank you, Ada."
    assert zoe["Subject"] == "Bestellung über 12,50 €"
    assert body_text(zoe).strip() == "Grüße\nund Dank"
    assert [m["Subject"] for m in Mailbox(maildir).to("zoe@example.com")] == [zoe["Subject"]]
    assert list((maildir / "tmp").iterdir()) == []  # nothing half-written left behind
