"""The supervisor brings back a killed store and a killed service by itself and reaps both.
Runs the user service on its own PostgreSQL and Kafka, supervised from a thread."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from launcher.health import grpc_serving
from launcher.platform import LocalPlatform
from launcher.process import read_pid
from launcher.testing import discard, isolated_environ, session_infrastructure

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def supervised() -> Iterator[LocalPlatform]:
    infra = session_infrastructure()
    platform = LocalPlatform(
        infra.config, infra.credentials, infra=infra, base_env=isolated_environ(os.environ)
    )
    platform.components = [c for c in platform.components if c.name == "user"]
    stop = threading.Event()
    thread = threading.Thread(target=platform.supervise, args=(stop,), name="supervisor")
    try:
        platform.start(load_demo=False, strict=True, stores=("postgres", "kafka"))
        thread.start()
        yield platform
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        platform.stop()
        discard(infra)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f}s")
        time.sleep(0.3)


def zombie_children() -> list[int]:
    zombies = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            zombies.append(int(entry.name))
    return zombies


def test_killed_postgres_and_service_are_restarted_and_reaped(
    supervised: LocalPlatform,
) -> None:
    run_dir = supervised.config.run_dir
    supervisor = supervised.supervisor
    assert supervisor is not None
    address = supervised.grpc_address("user")
    assert grpc_serving(address)
    killed = {name: read_pid(run_dir / f"{name}.pid") for name in ("postgres", "user")}

    for pid in killed.values():
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

    def restarted() -> bool:
        status = supervisor.status()
        return all(status[name].restarts >= 1 for name in killed)

    wait_for(restarted, 60, "postgres and user were not restarted")
    for name, old in killed.items():
        new = read_pid(run_dir / f"{name}.pid")
        assert new is not None and new != old, name
        assert supervisor.status()[name].last_exit == "killed by SIGKILL"
    wait_for(lambda: grpc_serving(address), 90, "user did not return to SERVING")
    assert supervised.infra.store("postgres").healthy()
    assert zombie_children() == []
