"""Merges the components' log files into one readable stream, each line prefixed by its source."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TextIO


class LogStreamer:
    """Follows every *.log in a directory (new files too) and writes `name | line` to `out`."""

    def __init__(self, log_dir: Path, out: TextIO, from_start: bool = False) -> None:
        self._dir = log_dir
        self._out = out
        self._from_start = from_start
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-streamer", daemon=True)

    def start(self) -> None:
        if not self._from_start:
            for path in self._dir.glob("*.log"):
                self._offsets[path] = path.stat().st_size
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.poll()

    def poll(self) -> None:
        width = max((len(p.stem) for p in self._dir.glob("*.log")), default=8)
        for path in sorted(self._dir.glob("*.log")):
            offset = self._offsets.get(path, 0)
            try:
                with path.open("rb") as log:
                    log.seek(offset)
                    chunk = log.read()
            except FileNotFoundError:
                continue
            if not chunk:
                continue
            self._offsets[path] = offset + len(chunk)
            data = self._partial.pop(path, b"") + chunk
            *lines, rest = data.split(b"\n")
            if rest:
                self._partial[path] = rest
            for line in lines:
                text = line.decode("utf-8", errors="replace").rstrip()
                self._out.write(f"{path.stem:<{width}} | {text}\n")
        self._out.flush()
