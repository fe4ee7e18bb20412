"""An SMTP server that stores every message it receives in a Maildir (for development and tests).

Run as `python -m launcher.mailcapture --port 10025 --maildir .shop/mail`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import mailbox
import signal
from pathlib import Path

from aiosmtpd.handlers import Mailbox as MaildirHandler
from aiosmtpd.smtp import SMTP

logger = logging.getLogger(__name__)


async def serve(host: str, port: int, maildir: Path) -> None:
    mailbox.Maildir(maildir, create=True)
    loop = asyncio.get_running_loop()
    handler = MaildirHandler(maildir)
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
    asyncio.run(serve(args.host, args.port, args.maildir))


if __name__ == "__main__":
    main()
