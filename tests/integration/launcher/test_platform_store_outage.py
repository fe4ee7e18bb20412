"""Killing PostgreSQL turns the health of the services that own databases NOT_SERVING; they
return to SERVING by themselves once it is back. Runs a whole platform on its own stores."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from launcher.components import owns_database
from launcher.health import grpc_serving
from launcher.process import pid_alive, read_pid
from launcher.testing import RunningPlatform, discard, session_infrastructure, start_platform

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_platform() -> Iterator[RunningPlatform]:
    infra = session_infrastructure()
    try:
        running = start_platform(infra)
        yield running
        running.platform.stop()
    finally:
        discard(infra)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f}s")
        time.sleep(0.5)


def not_serving(address: str) -> bool:
    return not grpc_serving(address)


def test_database_owners_follow_postgres_health(own_platform: RunningPlatform) -> None:
    owners = {n: a for n, a in own_platform.grpc_addresses.items() if owns_database(n)}
    assert owners, "no service owning a PostgreSQL database exists yet"
    infra = own_platform.platform.infra
    pid = read_pid(infra.config.run_dir / "postgres.pid")
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid), 10, "postgres did not die")
    for name, address in owners.items():
        wait_for(partial(not_serving, address), 60, f"{name} did not go NOT_SERVING")

    infra.restart("postgres")
    for name, address in owners.items():
        wait_for(partial(grpc_serving, address), 90, f"{name} did not return to SERVING")
