"""`shop up --detach`, `status`, `logs`, `down`, `down --purge` on free ports and a private
state directory: everything healthy, and nothing left running or listening afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.components import discover
from launcher.config import PortPlan, repo_root
from launcher.process import pid_alive, port_open, read_pid
from launcher.testing import isolated_environ

pytestmark = pytest.mark.integration


def shop(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "launcher.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def eventually_healthy(env: dict[str, str], tries: int = 30) -> subprocess.CompletedProcess[str]:
    """`shop status`, repeated for up to about two minutes: on a 2-core machine running other
    platforms at the same time, Elasticsearch's `_cluster/health` has missed its 2 s probe for
    over half a minute in a row while the JVM caught up."""
    for _ in range(tries - 1):
        status = shop(env, "status")
        if status.returncode == 0:
            return status
        time.sleep(3)
    return shop(env, "status")


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("shop-cli") / "state"
    env = {**isolated_environ(os.environ), **PortPlan.free().to_env(), "SHOP_STATE_DIR": str(state)}
    yield env
    shop(env, "down", "--purge", timeout=240)


def test_status_before_anything_was_started(cli_env: dict[str, str]) -> None:
    result = shop(cli_env, "status")
    assert result.returncode == 1
    assert "nothing provisioned" in result.stdout


def test_up_status_logs_down(cli_env: dict[str, str]) -> None:
    state = Path(cli_env["SHOP_STATE_DIR"])
    up = shop(cli_env, "up", "--detach", "--no-demo", timeout=480)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "running in the background" in up.stdout
    assert (state.stat().st_mode & 0o777) == 0o700

    status = eventually_healthy(cli_env)
    assert status.returncode == 0, status.stdout
    components = [c.name for c in discover(repo_root())]
    for name in ("postgres", "redis", "kafka", "ferretdb", "elasticsearch", "smtp", *components):
        assert any(line.split()[:2] == [name, "healthy"] for line in status.stdout.splitlines())

    logs = shop(cli_env, "logs", "postgres", "-n", "5")
    assert logs.returncode == 0
    assert shop(cli_env, "logs", "no-such-thing").returncode == 1

    pids = {p.stem: read_pid(p) for p in (state / "run").glob("*.pid")}
    down = shop(cli_env, "down", timeout=240)
    assert down.returncode == 0, down.stdout + down.stderr
    assert [name for name, pid in pids.items() if pid and pid_alive(pid)] == []
    ports = PortPlan.from_env(cli_env)
    listening = [
        p
        for p in (
            ports.postgres,
            ports.kafka,
            ports.elasticsearch,
            ports.gateway,
            *ports.grpc.values(),
        )
        if port_open("127.0.0.1", p)
    ]
    assert listening == []
    # PostgreSQL's data lies apart from the state directory (keys and credentials).
    stores = state.with_name(state.name + "-stores")
    assert (stores / "postgres").exists(), "data survives `shop down`"

    purge = shop(cli_env, "down", "--purge")
    assert purge.returncode == 0
    assert not state.exists() and not stores.exists()
