"""A local trace viewer (Jaeger, as `shop up --observability` runs it) that the e2e platform
exports to: started, and OTEL_EXPORTER_OTLP_ENDPOINT set, before `shop_platform` starts."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.config import PlatformConfig, repo_root
from launcher.observability import TraceViewer, TraceViewerPorts


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session", autouse=True)
def trace_viewer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraceViewer]:
    state = tmp_path_factory.mktemp("trace-viewer")
    cache_dir = PlatformConfig.from_env(dict(os.environ), repo_root()).cache_dir
    ports = TraceViewerPorts(_free_port(), _free_port(), _free_port(), _free_port())
    viewer = TraceViewer(cache_dir, state, Path(state), ports)
    viewer.start()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in viewer.environment().items():
            patch.setenv(name, value)
        yield viewer
    viewer.stop()
