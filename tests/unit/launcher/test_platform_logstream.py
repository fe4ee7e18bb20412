"""`make up` on a terminal: one readable line per event, stores only when they warn, no polls."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from launcher import toolchain
from launcher.logstream import LogStreamer, pretty_line, raw_line
from launcher.toolchain import _stream

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(text: str | None) -> str | None:
    return None if text is None else ANSI.sub("", text)


def event(**fields: object) -> str:
    return json.dumps({"time": "2026-12-03T09:10:31.884+00:00", "level": "INFO", **fields})


def test_a_service_event_is_one_short_line_with_the_fields_that_matter() -> None:
    line = event(
        logger="gateway.access",
        message="POST /v1/products 201",
        path="/v1/products",
        duration_ms=123.56,
        trace_id="438ef4bf087fda8de505b205ed2ceeee",
        request_id="afe4eb2efc2d4ebfaa4475447e63d328",
    )
    shown = plain(pretty_line("gateway", line))
    assert shown is not None and not shown.lstrip().startswith("{")
    assert shown.startswith("09:10:31.884 gateway       INFO  POST /v1/products 201")
    assert "124ms" in shown and "trace=438ef4bf087fda8de505b205ed2ceeee" in shown
    assert "request_id" not in shown


def test_an_error_shows_the_exception_s_last_line() -> None:
    line = event(
        level="ERROR",
        message="unhandled exception in /shop.user.v1.UserService/UpdateUser",
        rpc_method="/shop.user.v1.UserService/UpdateUser",
        exception="Traceback (most recent call last):\n  ...\nValueError: badly formed UUID",
    )
    shown = plain(pretty_line("user", line))
    assert shown is not None and "ERROR" in shown
    assert shown.endswith("ValueError: badly formed UUID")


def test_readiness_polls_are_hidden() -> None:
    poll = event(logger="gateway.access", message="GET /readyz 503", path="/readyz")
    assert pretty_line("gateway", poll) is None


def test_store_lines_show_only_warnings_and_errors() -> None:
    assert pretty_line("kafka", "7575 [main] INFO kafka.server.KafkaServer - started") is None
    assert pretty_line("kafka-format", "\tadvertised.listeners = PLAINTEXT://127.0.0.1:1") is None
    assert (
        pretty_line("elasticsearch", "[2026-12-03T09:06:26,954][INFO ][o.e.n.Node] started") is None
    )
    warning = "[2026-12-03T09:07:28,917][WARN ][o.e.b.BootstrapChecks] max file descriptors"
    assert "WARN" in (plain(pretty_line("elasticsearch", warning)) or "")
    failure = "2026-12-03 09:08:46.625 UTC [28626] ERROR:  duplicate key value"
    assert "ERROR" in (plain(pretty_line("postgres", failure)) or "")
    valkey = "23400:M 03 Dec 2026 09:05:22.434 # WARNING Memory overcommit must be enabled!"
    assert "WARN" in (plain(pretty_line("redis", valkey)) or "")


def test_the_raw_form_keeps_the_json(tmp_path: Path) -> None:
    line = event(message="hello")
    (tmp_path / "order.log").write_text(line + "\n")
    out = io.StringIO()
    streamer = LogStreamer(tmp_path, out, from_start=True)
    streamer.poll()
    assert out.getvalue() == raw_line("order", line) + "\n"
    assert out.getvalue().split("| ", 1)[1].startswith("{")


def test_one_component_can_be_followed_alone(tmp_path: Path) -> None:
    (tmp_path / "order.log").write_text(event(message="placed") + "\n")
    (tmp_path / "kafka.log").write_text("1 [main] ERROR kafka - broken\n")
    out = io.StringIO()
    LogStreamer(tmp_path, out, from_start=True, render=pretty_line, only="order").poll()
    shown = plain(out.getvalue()) or ""
    assert "placed" in shown and "kafka" not in shown


def test_a_long_build_reports_progress_not_its_output(tmp_path: Path) -> None:
    script = "for i in range(500): print(f'go: downloading example.com/m{i} v1.0.0')"
    reported: list[str] = []
    _stream([sys.executable, "-c", script], cwd=tmp_path, progress=reported.append, prefix="x: ")
    # Quicker than the reporting interval: only the closing line, none of the 500 lines.
    assert len(reported) == 1
    assert re.fullmatch(r"x: done: 500 downloads in \d+s", reported[0])


def test_a_silent_build_still_reports_that_it_is_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(toolchain, "PROGRESS_INTERVAL_SECONDS", 0.05)
    reported: list[str] = []
    script = "import time; time.sleep(0.5)"
    _stream([sys.executable, "-c", script], cwd=tmp_path, progress=reported.append, prefix="x: ")
    assert any(line.startswith("x: working: 0 downloads") for line in reported[:-1])
    assert reported[-1].startswith("x: done")
