"""JSON logs: one object per line with service, trace and request ids from the context."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Final

from opentelemetry import trace

from mesh.context import current_request

__all__ = ["JsonFormatter", "configure_logging", "json_line"]

# LogRecord attributes that are not user-supplied `extra` fields.
_RESERVED: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


def json_line(
    service: str, level: str, logger: str, message: str, created: float, fields: dict[str, Any]
) -> str:
    """One log line: time, level, logger, message, service, the current trace and request,
    then `fields`. Every JSON line of the platform has this shape."""
    entry: dict[str, Any] = {
        "time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "message": message,
        "service": service,
    }
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        entry["trace_id"] = format(span_context.trace_id, "032x")
        entry["span_id"] = format(span_context.span_id, "016x")
    request = current_request()
    if request is not None:
        entry["request_id"] = request.request_id
        entry["rpc_method"] = request.method
    entry.update(fields)
    return json.dumps(entry, default=str)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _RESERVED and not key.startswith("_")
        }
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return json_line(
            self._service,
            record.levelname,
            record.name,
            record.getMessage(),
            record.created,
            fields,
        )


def configure_logging(service: str, level: str) -> None:
    """Route every logger to stderr as JSON lines; replaces earlier handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # aiokafka and grpc are chatty at INFO about routine reconnects.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
