"""The supervisor restarts exited children with a doubling back-off and records their state."""

from __future__ import annotations

from pathlib import Path

from launcher.supervisor import Backoff, Supervisor, load_status


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeChild:
    def __init__(self, name: str, log_path: Path, *, failing_starts: int = 0) -> None:
        self.name = name
        self.log_path = log_path
        self.running = True
        self.starts = 0
        self._failing_starts = failing_starts

    def exited(self) -> str | None:
        return None if self.running else "killed by SIGKILL"

    def start(self) -> None:
        self.starts += 1
        if self._failing_starts:
            self._failing_starts -= 1
            raise RuntimeError("port 50056 is already in use")
        self.running = True


def supervisor(tmp_path: Path, *children: FakeChild) -> tuple[Supervisor, FakeClock]:
    clock = FakeClock()
    return Supervisor(children, tmp_path / "state.json", clock=clock), clock


def test_backoff_doubles_up_to_the_maximum() -> None:
    backoff = Backoff(first=1.0, maximum=30.0)
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_running_child_is_left_alone(tmp_path: Path) -> None:
    child = FakeChild("user", tmp_path / "user.log")
    sup, clock = supervisor(tmp_path, child)
    for _ in range(3):
        clock.now += 5
        sup.tick()
    assert child.starts == 0
    assert not (tmp_path / "state.json").exists()


def test_an_exited_child_is_restarted_after_the_delay(tmp_path: Path) -> None:
    child = FakeChild("user", tmp_path / "user.log")
    sup, clock = supervisor(tmp_path, child)
    child.running = False
    sup.tick()
    assert sup.status()["user"].state == "restarting"
    assert load_status(tmp_path / "state.json")["user"].last_exit == "killed by SIGKILL"
    clock.now += 0.5
    sup.tick()
    assert child.starts == 0
    clock.now += 0.5
    sup.tick()
    assert child.starts == 1
    status = load_status(tmp_path / "state.json")["user"]
    assert (status.state, status.crashes, status.restarts) == ("running", 1, 1)


def test_crashes_in_a_row_double_the_delay_and_count_as_failing(tmp_path: Path) -> None:
    child = FakeChild("notification", tmp_path / "n.log")
    sup, clock = supervisor(tmp_path, child)
    delays: list[float] = []
    for _ in range(4):
        child.running = False
        sup.tick()
        crashed_at = clock.now
        while child.starts == len(delays):
            clock.now += 0.25
            sup.tick()
        delays.append(clock.now - crashed_at)
    assert delays == [1, 2, 4, 8]
    assert sup.failing("notification")
    assert load_status(tmp_path / "state.json")["notification"].failing


def test_a_failed_restart_is_retried_with_a_longer_delay(tmp_path: Path) -> None:
    child = FakeChild("notification", tmp_path / "n.log", failing_starts=1)
    sup, clock = supervisor(tmp_path, child)
    child.running = False
    sup.tick()
    clock.now += 1
    sup.tick()
    status = sup.status()["notification"]
    assert (status.state, status.crashes) == ("restarting", 2)
    assert "already in use" in status.last_exit
    clock.now += 2
    sup.tick()
    assert child.running and child.starts == 2


def test_a_child_that_stayed_up_starts_over_at_the_first_delay(tmp_path: Path) -> None:
    child = FakeChild("user", tmp_path / "user.log")
    sup, clock = supervisor(tmp_path, child)
    for _ in range(3):
        child.running = False
        sup.tick()
        clock.now += 10
        sup.tick()
    assert sup.status()["user"].crashes == 3
    clock.now += 61
    child.running = False
    sup.tick()
    assert sup.status()["user"].crashes == 1


def test_forget_removes_the_state_file(tmp_path: Path) -> None:
    child = FakeChild("user", tmp_path / "user.log")
    sup, _ = supervisor(tmp_path, child)
    child.running = False
    sup.tick()
    sup.forget()
    assert load_status(tmp_path / "state.json") == {}


def test_a_failed_first_start_is_retried_and_shown_short(tmp_path: Path) -> None:
    child = FakeChild("notification", tmp_path / "n.log")
    sup, clock = supervisor(tmp_path, child)
    child.running = False
    sup.start_failed("notification", "start failed: port 51056 is already in use " + "x" * 80)
    status = load_status(tmp_path / "state.json")["notification"]
    assert (status.state, status.crashes) == ("restarting", 1)
    assert len(status.describe()) < 120
    clock.now += 1
    sup.tick()
    assert child.running and child.starts == 1
