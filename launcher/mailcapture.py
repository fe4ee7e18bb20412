"""An SMTP server that stores every message it receives in a Maildir (for development and tests).

Run as `python -m launcher.mailcapture --port 10025 --maildir .shop/mail`.

Each message is stored as it arrived, behind the envelope headers aiosmtpd's own Maildir
handler adds (X-Peer, X-MailFrom, X-RcptTo): that handler parses every message into an
`email.message.Message` and serialises it again, the largest part of the capture's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import mailbox
import os
import signal
import socket
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

logger = logging.getLogger(__name__)


class MaildirCapture:
    """An aiosmtpd handler: every message, unparsed, into one Maildir.

    Written the Maildir way (a unique name in tmp/, then renamed into new/, so a reader never
    sees half a message) but without the fsync `mailbox.Maildir.add` makes per message: a
    capture for development and tests needs no crash-proof mail, and the fsync was a fifth of
    its CPU per message.
    """

    def __init__(self, maildir: Path) -> None:
        mailbox.Maildir(maildir, create=True)  # tmp/, new/ and cur/
        self._tmp = maildir / "tmp"
        self._new = maildir / "new"
        self._prefix = f"{socket.gethostname().replace('/', '_').replace(':', '_')}.{os.getpid()}"
        self._count = itertools.count()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content.encode() if isinstance(content, str) else bytes(content or b"")
        # The envelope, as aiosmtpd's own Maildir handler records it.
        headers = (
            f"X-Peer: {session.peer}\r\n"
            f"X-MailFrom: {envelope.mail_from}\r\n"
            f"X-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        name = f"{time.time_ns()}.{self._prefix}.{next(self._count)}"
        staged = self._tmp / name
        staged.write_bytes(headers + raw.replace(b"\r\n", b"\n"))
        staged.rename(self._new / name)
        return "250 OK"


async def serve(host: str, port: int, maildir: Path) -> None:
    loop = asyncio.get_running_loop()
    handler = MaildirCapture(maildir)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="shopmesh.local"), host=host, port=port
    )
    logger.info("SMTP capture listening on %s:%d, storing mail in %s", host, port, maildir)
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    async with server:
        await stopped.wait()
    logger.info("SMTP capture stopped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=10025)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # aiosmtpd logs every connection and command at INFO: a line per step of every mail.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    asyncio.run(serve(args.host, args.port, args.maildir))


if __name__ == "__main__":
    main()
