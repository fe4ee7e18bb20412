"""Merges the components' log files into one stream, in one of two forms.

- raw (files, `--detach`, pipes): every line as written, prefixed by its component;
  services' JSON stays JSON, for tools.
- pretty (a terminal): one short, colourised line per service event (time, component, level,
  message, the few fields that matter); stores' lines only when they warn or fail; health and
  readiness polls not at all.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, TextIO

__all__ = [
    "LogStreamer",
    "Renderer",
    "SupervisorFormatter",
    "pretty_line",
    "raw_line",
    "supervisor_line",
    "terminal",
]

Renderer = Callable[[str, str], str | None]
"""(component, line) -> text to show, or None to hide the line."""

# Requests that only poll health: shown in the file, never on the terminal.
_POLL_PATHS: Final = frozenset({"/healthz", "/readyz", "/metrics"})
# Fields worth a glance on an event's line, in this order (others stay in the JSON file).
_FIELDS: Final = ("rpc_method", "status_code", "topic", "event_type", "order_id", "error")
# Store lines carry their level in many spellings; what is not a warning or worse is hidden.
_STORE_PROBLEM: Final = re.compile(r"\b(WARN(?:ING)?|ERROR|FATAL|SEVERE|PANIC|CRITICAL)\b")
# Valkey marks its warnings with `#` after the timestamp ("12:M 03 Dec 2026 09:05:22.434 # ...").
_VALKEY_WARNING: Final = re.compile(r"^\d+:[A-Z] .{24} # ")

_RESET: Final = "\x1b[0m"
_DIM: Final = "\x1b[2m"
_LEVEL_COLOURS: Final[Mapping[str, str]] = {
    "DEBUG": "\x1b[2m",
    "INFO": "\x1b[32m",
    "WARN": "\x1b[33m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
    "FATAL": "\x1b[1;31m",
}
_COMPONENT_COLOURS: Final = ("\x1b[36m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[95m", "\x1b[94m")
_WIDTH: Final = 13  # "elasticsearch"


def raw_line(component: str, line: str) -> str:
    """The line as written, prefixed by its component."""
    return f"{component:<{_WIDTH}} | {line}"


def pretty_line(component: str, line: str) -> str | None:
    """A terminal line for one log line, or None when it is noise on a terminal."""
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            return _event(component, record)
    match = _STORE_PROBLEM.search(line)
    if match is None and _VALKEY_WARNING.match(line) is None:
        return None
    level = _normal_level(match.group(1) if match else "WARN")
    return _compose("", component, level, line.strip())


def supervisor_line(message: str, level: str, time: str) -> str:
    """The launcher's own messages, in the same layout as the services' events."""
    return _compose(time, "shop", _normal_level(level), message)


def _event(component: str, record: dict[str, object]) -> str | None:
    if record.get("path") in _POLL_PATHS:
        return None
    level = _normal_level(str(record.get("level", "INFO")))
    message = str(record.get("message", ""))
    details = [f"{name}={record[name]}" for name in _FIELDS if record.get(name) not in (None, "")]
    if isinstance(record.get("duration_ms"), int | float):
        details.append(f"{record['duration_ms']:.0f}ms")
    trace = record.get("trace_id")
    if isinstance(trace, str) and trace.strip("0"):
        details.append(f"trace={trace}")
    exception = record.get("exception")
    if isinstance(exception, str) and exception.strip():
        details.append(exception.strip().splitlines()[-1])
    time = str(record.get("time", ""))[11:23]
    suffix = f"  {_DIM}{'  '.join(details)}{_RESET}" if details else ""
    return _compose(time, component, level, message) + suffix


def _compose(time: str, component: str, level: str, message: str) -> str:
    colour = _COMPONENT_COLOURS[zlib.crc32(component.encode()) % len(_COMPONENT_COLOURS)]
    level_colour = _LEVEL_COLOURS.get(level, "")
    stamp = f"{_DIM}{time:<12}{_RESET} " if time else f"{'':<13}"
    return (
        f"{stamp}{colour}{component:<{_WIDTH}}{_RESET} {level_colour}{level:<5}{_RESET} {message}"
    )


def _normal_level(level: str) -> str:
    level = level.upper()
    return {"WARNING": "WARN", "CRITICAL": "FATAL", "SEVERE": "ERROR", "PANIC": "FATAL"}.get(
        level, level
    )


class LogStreamer:
    """Follows *.log in a directory (new files too) and writes each line, rendered, to `out`.

    `only` limits it to one component's log; `render` chooses the form (raw by default).
    """

    def __init__(
        self,
        log_dir: Path,
        out: TextIO,
        from_start: bool = False,
        *,
        render: Renderer = raw_line,
        only: str | None = None,
    ) -> None:
        self._dir = log_dir
        self._out = out
        self._from_start = from_start
        self._render = render
        self._pattern = f"{only}.log" if only else "*.log"
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-streamer", daemon=True)

    def start(self) -> None:
        if not self._from_start:
            for path in self._dir.glob(self._pattern):
                self._offsets[path] = path.stat().st_size
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()

    def follow(self) -> None:
        """Poll in the calling thread until interrupted (`shop logs -f`)."""
        while not self._stop.wait(0.25):
            self.poll()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.poll()

    def poll(self) -> None:
        for path in sorted(self._dir.glob(self._pattern)):
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
                rendered = self._render(path.stem, text)
                if rendered is not None:
                    self._out.write(rendered + "\n")
        self._out.flush()


class SupervisorFormatter(logging.Formatter):
    """The `shop` process's own log lines: pretty on a terminal, `shop | message` elsewhere."""

    def __init__(self, *, pretty: bool) -> None:
        super().__init__()
        self._pretty = pretty

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if not self._pretty:
            return raw_line("shop", message)
        time = self.formatTime(record, "%H:%M:%S") + f".{int(record.msecs):03d}"
        return supervisor_line(message, record.levelname, time)


def terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal a person reads (pretty form), not a file or a pipe."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
