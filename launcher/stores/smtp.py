"""The SMTP capture server, run as a child process storing mail in the state directory."""

from __future__ import annotations

import sys

from launcher.process import port_open
from launcher.stores.base import StoreContext, remove_tree

HOST = "127.0.0.1"


class SmtpCaptureStore:
    name = "smtp"

    def __init__(self, context: StoreContext) -> None:
        self._port = context.config.ports.smtp
        self._maildir = context.data_dir("mail")
        self._process = context.process(
            "smtp",
            [
                sys.executable,
                "-m",
                "launcher.mailcapture",
                "--host",
                HOST,
                "--port",
                str(self._port),
                "--maildir",
                str(self._maildir),
            ],
            cwd=context.config.repo_root,
            ports=[self._port],
        )

    def url(self) -> str:
        return f"smtp://{HOST}:{self._port}"

    def start(self) -> None:
        self._process.start()
        self._process.wait_until(self.healthy, 30, "accept SMTP connections")

    def stop(self) -> None:
        self._process.stop()

    def healthy(self) -> bool:
        return port_open(HOST, self._port)

    def purge(self) -> None:
        remove_tree(self._maildir)
