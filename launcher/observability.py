"""`shop up --observability`: a local trace viewer that the services and the gateway export to.

The viewer is Jaeger v2 (`cmd/jaeger` of the Go module github.com/jaegertracing/jaeger, built
once from the Go module proxy into the cache), keeping traces in memory. It receives OTLP on
4317 (gRPC) and 4318 (HTTP) and answers its query API on 16686. Jaeger's web UI is built from
a separate repository that no reachable registry ships, so the page at 16686 is Jaeger's
placeholder; `shop trace TRACE_ID` prints a trace as a span tree from the API instead.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from launcher.stores.base import Progress
from launcher.toolchain import build_go

__all__ = [
    "JAEGER_VERSION",
    "Span",
    "TraceViewer",
    "TraceViewerPorts",
    "fetch_trace",
    "render_tree",
]

logger = logging.getLogger(__name__)

JAEGER_MODULE: Final = "github.com/jaegertracing/jaeger"
# The Go module version whose cmd/jaeger is Jaeger v2 (v2.12); pinned, checked by go.sum.
JAEGER_VERSION: Final = "v1.75.0"
START_TIMEOUT_SECONDS: Final = 60.0
_BUILD_SOURCE: Final = Path(__file__).with_name("jaeger")


@dataclass(frozen=True)
class TraceViewerPorts:
    otlp_grpc: int = 4317
    otlp_http: int = 4318
    query_http: int = 16686
    query_grpc: int = 16685


def viewer_config(ports: TraceViewerPorts) -> str:
    """Jaeger v2's collector configuration: OTLP in, memory storage, query API; loopback only."""
    return f"""\
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:{ports.query_http}
    grpc:
      endpoint: 127.0.0.1:{ports.query_grpc}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{ports.otlp_grpc}
      http:
        endpoint: 127.0.0.1:{ports.otlp_http}
processors:
  batch:
    timeout: 1s
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


class TraceViewer:
    """Builds (once), starts and stops the local Jaeger."""

    def __init__(
        self,
        cache_dir: Path,
        run_dir: Path,
        log_dir: Path,
        ports: TraceViewerPorts | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.ports = ports or TraceViewerPorts()
        self._cache_dir = cache_dir / "jaeger"
        self._run_dir = run_dir
        self._log_dir = log_dir
        self._progress = progress or (lambda message: logger.info("%s", message))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def otlp_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports.otlp_grpc}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.query_http}"

    @staticmethod
    def default_url() -> str:
        return f"http://127.0.0.1:{TraceViewerPorts().query_http}"

    def environment(self) -> dict[str, str]:
        """What every service and the gateway need to export their spans here."""
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp_endpoint}

    def start(self) -> None:
        binary = build_go(
            _BUILD_SOURCE, self._cache_dir, "jaeger", self._progress, f"{JAEGER_MODULE}/cmd/jaeger"
        )
        self._run_dir.mkdir(parents=True, exist_ok=True)
        config = self._run_dir / "jaeger.yaml"
        config.write_text(viewer_config(self.ports))
        with (self._log_dir / "jaeger.log").open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own binary and config
                [str(binary), "--config", f"file:{config}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"jaeger exited ({self._process.returncode}); see jaeger.log")
            try:
                with urllib.request.urlopen(f"{self.url}/api/services", timeout=2):  # noqa: S310
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise RuntimeError(f"jaeger did not answer on {self.url} within {START_TIMEOUT_SECONDS}s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


# --- reading traces back ----------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    span_id: str
    parent_id: str | None
    service: str
    name: str
    start_us: int
    duration_us: int


def fetch_trace(base_url: str, trace_id: str) -> list[Span]:
    """The trace's spans from Jaeger's query API (`/api/traces/{id}`)."""
    url = f"{base_url}/api/traces/{trace_id}"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - local viewer
        document = json.load(answer)
    return [span for trace in document.get("data", []) for span in _spans(trace)]


def _spans(trace: Mapping[str, Any]) -> list[Span]:
    processes = {key: value.get("serviceName", "?") for key, value in trace["processes"].items()}
    spans = []
    for raw in trace["spans"]:
        parents = [r["spanID"] for r in raw.get("references", []) if r.get("refType") == "CHILD_OF"]
        spans.append(
            Span(
                span_id=raw["spanID"],
                parent_id=parents[0] if parents else None,
                service=processes.get(raw["processID"], "?"),
                name=raw["operationName"],
                start_us=int(raw["startTime"]),
                duration_us=int(raw["duration"]),
            )
        )
    return spans


def render_tree(spans: Sequence[Span]) -> str:
    """The spans as an indented tree, children in start order, with services and durations."""
    known = {span.span_id for span in spans}
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in known else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: str | None, prefix: str) -> None:
        siblings = sorted(children.get(parent, []), key=lambda s: s.start_us)
        for index, span in enumerate(siblings):
            last = index == len(siblings) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            lines.append(f"{prefix}{branch}{span.service}: {span.name} ({_ms(span.duration_us)})")
            walk(span.span_id, prefix + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "")
    return "\n".join(lines)


def _ms(microseconds: int) -> str:
    return f"{microseconds / 1000:.1f} ms"
