"""Child processes with a log file and a pid file, stopped as a whole process group."""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class StartError(RuntimeError):
    """A component did not come up; the message says why and where its log is."""


class ManagedProcess:
    """One long-running child in its own session, so stopping it takes its children too."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        pid_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        ports: Sequence[int] = (),
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.pid_path = pid_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self.ports = tuple(ports)
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else read_pid(self.pid_path)

    def start(self) -> None:
        # A port held by someone else would make the readiness check talk to the wrong server.
        busy = [port for port in self.ports if port_open("127.0.0.1", port)]
        if busy:
            raise StartError(
                f"{self.name}: port {', '.join(map(str, busy))} is already in use by another "
                "program (another `shop up`? change the port with its SHOP_*_PORT variable)"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.pid_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(  # noqa: S603 - argv is built by us
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                **as_user(self.user),
            )
        write_pid_file(self.pid_path, self._popen.pid)
        logger.debug("started %s pid=%d", self.name, self._popen.pid)

    def alive(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        pid = read_pid(self.pid_path)
        return pid is not None and pid_alive(pid)

    def exit_code(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def exited(self) -> str | None:
        """None while it runs; otherwise how it ended. Reaps it, so it leaves no zombie."""
        if self._popen is None:
            return pid_file_exit(self.pid_path)
        code = self._popen.poll()
        return None if code is None else describe_exit(code)

    def stop(self, timeout: float = 20.0) -> None:
        pid = self.pid
        if pid is not None:
            stop_group(pid, self.stop_signal, timeout)
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=1)
        self.pid_path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `ready` until it holds; fail early when the process dies."""
        deadline = time.monotonic() + timeout
        while True:
            if ready():
                return
            if not self.alive():
                raise StartError(
                    f"{self.name} exited while starting (see {self.log_path}):\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise StartError(
                    f"{self.name} did not {what} within {timeout:.0f}s "
                    f"(see {self.log_path}):\n{self.log_tail()}"
                )
            time.sleep(0.2)


def as_user(user: str | None) -> dict[str, Any]:
    """Popen arguments that drop to `user` with its own group only (no root group left over)."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def write_pid_file(path: Path, pid: int) -> None:
    """Record a pid with its start time, so a reused pid is never taken for ours."""
    path.write_text(f"{pid} {_start_time(pid)}\n")


def read_pid(path: Path) -> int | None:
    """The pid in a pid file, or None when the file is missing or names another process."""
    try:
        fields = path.read_text().split()
        pid = int(fields[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    # A different start time: the process is gone and the pid may belong to someone else.
    if len(fields) > 1 and fields[1] != _start_time(pid):
        return None
    return pid


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def describe_exit(returncode: int) -> str:
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


def pid_file_exit(path: Path) -> str | None:
    """None while the process of a pid file runs; otherwise how it ended (reaped if ours)."""
    pid = read_pid(path)
    if pid is None:
        return "gone (no live process in its pid file)"
    try:
        waited, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None if pid_alive(pid) else "gone (not our child; exit code unknown)"
    if waited == 0:
        return None
    return describe_exit(os.waitstatus_to_exitcode(status))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); it is gone for our purposes.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return _not_zombie(pid)
    return waited == 0


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(_in_group(pid, pgid) for pid in _all_pids())


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _in_group(pid: int, pgid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return False
    return fields[0] != "Z" and int(fields[2]) == pgid


def stop_group(pid: int, sig: signal.Signals, timeout: float) -> None:
    """Signal the process group led by `pid`, wait, then SIGKILL whatever is left."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        pgid = pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not _group_alive(pgid):
            return
        time.sleep(0.1)
    logger.warning("process group %d ignored %s for %.0fs; killing it", pgid, sig.name, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def group_rss_bytes(pgid: int) -> int:
    """Resident memory of every live process in a process group."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in _all_pids():
        if _in_group(pid, pgid):
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
            except (OSError, IndexError, ValueError):
                continue
    return total
