"""Watches the platform's children and restarts the ones that exit.

Every tick asks each child whether it exited (which reaps it, so no zombie stays behind). A
child that exited is logged with how it ended and where its log is, then started again after
a back-off that starts at one second and doubles up to thirty; a child that then stays up for
a minute starts over at one second. The state of every child is kept in a small JSON file, so
`shop status` (another process) can show which component is restarting or failing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Protocol

logger = logging.getLogger(__name__)
STATE_FILE: Final = "supervision.json"
# Consecutive crashes after which a child counts as failing (it is still restarted).
FAILING_AFTER: Final = 3


class Child(Protocol):
    """A process the supervisor can check and start again."""

    @property
    def name(self) -> str: ...

    @property
    def log_path(self) -> Path: ...

    def exited(self) -> str | None:
        """None while it runs; otherwise how it ended ("exit code 1", "killed by SIGKILL")."""

    def start(self) -> None: ...


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0
    maximum: float = 30.0
    # A child up for this long before it exits starts over at the first delay.
    stable_after: float = 60.0

    def delay(self, crashes: int) -> float:
        return float(min(self.maximum, self.first * 2 ** max(crashes - 1, 0)))


@dataclass(frozen=True)
class ChildStatus:
    """What `shop status` shows for a supervised child."""

    state: str  # "running" or "restarting"
    crashes: int  # in a row; reset once the child stays up
    restarts: int
    last_exit: str

    @property
    def failing(self) -> bool:
        return self.crashes >= FAILING_AFTER

    def describe(self) -> str:
        kind = "FAILING" if self.failing else self.state
        # A table cell: the whole reason is in the supervisor's log.
        how = self.last_exit if len(self.last_exit) <= 60 else self.last_exit[:57] + "..."
        return f"{kind} ({how}; {self.crashes} crash(es) in a row)"


@dataclass
class _Watch:
    child: Child
    started_at: float
    state: str = "running"
    crashes: int = 0
    restarts: int = 0
    last_exit: str = ""
    retry_at: float = 0.0

    def status(self) -> ChildStatus:
        return ChildStatus(self.state, self.crashes, self.restarts, self.last_exit)


class Supervisor:
    def __init__(
        self,
        children: Iterable[Child],
        state_path: Path,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._state_path = state_path
        now = clock()
        self._watches = {child.name: _Watch(child, started_at=now) for child in children}
        # The run loop (a thread in tests) and start-up checks must not restart a child twice.
        self._lock = threading.Lock()

    def tick(self) -> None:
        """Reap and schedule what exited; start what is due."""
        with self._lock:
            changed = False
            for watch in self._watches.values():
                if watch.state == "running":
                    ended = watch.child.exited()
                    if ended is not None:
                        self._crashed(watch, ended)
                        changed = True
                elif self._clock() >= watch.retry_at:
                    self._restart(watch)
                    changed = True
            if changed:
                self._save()

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Tick until `stop` is set (or a signal handler raises)."""
        while not stop.wait(interval):
            self.tick()

    def status(self) -> dict[str, ChildStatus]:
        with self._lock:
            return {name: watch.status() for name, watch in self._watches.items()}

    def failing(self, name: str) -> bool:
        return self.status()[name].failing

    def start_failed(self, name: str, reason: str) -> None:
        """A child whose first start failed: retried like one that exited."""
        with self._lock:
            self._crashed(self._watches[name], reason.splitlines()[0])
            self._save()

    def forget(self) -> None:
        self._state_path.unlink(missing_ok=True)

    def _crashed(self, watch: _Watch, ended: str) -> None:
        now = self._clock()
        if now - watch.started_at >= self._backoff.stable_after:
            watch.crashes = 0
        watch.crashes += 1
        delay = self._backoff.delay(watch.crashes)
        watch.state, watch.last_exit, watch.retry_at = "restarting", ended, now + delay
        logger.error(
            "%s exited (%s); restarting in %.0fs (crash %d in a row; log: %s)",
            watch.child.name,
            ended,
            delay,
            watch.crashes,
            watch.child.log_path,
        )

    def _restart(self, watch: _Watch) -> None:
        # Counted from the attempt, so a failing start never looks like a long stable run.
        watch.started_at = self._clock()
        try:
            watch.child.start()
        except Exception as error:
            self._crashed(watch, f"restart failed: {error}".splitlines()[0])
            return
        watch.state = "running"
        watch.restarts += 1
        logger.info("%s restarted (restart %d)", watch.child.name, watch.restarts)

    def _save(self) -> None:
        states = {name: asdict(watch.status()) for name, watch in self._watches.items()}
        self._state_path.parent.mkdir(parents=True, exist_ok=True)
        self._state_path.write_text(json.dumps(states, indent=1) + "\n")


def load_status(path: Path) -> dict[str, ChildStatus]:
    """The states a running supervisor saved (empty when none is running or nothing crashed)."""
    try:
        raw: Mapping[str, Mapping[str, object]] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {
        name: ChildStatus(
            state=str(entry["state"]),
            crashes=int(str(entry["crashes"])),
            restarts=int(str(entry["restarts"])),
            last_exit=str(entry["last_exit"]),
        )
        for name, entry in raw.items()
    }
