"""`shop`: run the local platform (`up`, `down`, `status`, `logs`, `mail`, `reindex`)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Final

from launcher.components import GATEWAY, discover
from launcher.config import FORMER_STORE_NAMES, STORES, PlatformConfig, repo_root
from launcher.credentials import CREDENTIALS_FILE, CredentialStore, admin_from_env
from launcher.logstream import (
    LogStreamer,
    Renderer,
    SupervisorFormatter,
    pretty_line,
    raw_line,
    terminal,
)
from launcher.mailbox import Mailbox
from launcher.observability import TraceViewer, fetch_trace, render_tree
from launcher.osuser import prepare_state_dir, server_user
from launcher.platform import Endpoint, LocalPlatform
from launcher.process import pid_alive, read_pid, stop_group, write_pid_file
from launcher.reindex import run_reindex
from launcher.sidecars.meshmode import Mesh
from launcher.supervisor import STATE_FILE, ChildStatus, load_status

logger = logging.getLogger("shop")
SUPERVISOR: Final = "shop"
READY_FILE: Final = "ready"


class _Stop(Exception):
    """Raised from the signal handler to unwind `shop up`."""


def _write(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _config() -> PlatformConfig:
    return PlatformConfig.from_env(os.environ, repo_root())


def _supervisor_pid(config: PlatformConfig) -> int | None:
    pid = read_pid(config.run_dir / f"{SUPERVISOR}.pid")
    return pid if pid is not None and pid_alive(pid) else None


# shop up ------------------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    config = _config()
    running = _supervisor_pid(config)
    if running is not None and running != os.getpid():
        _write(f"shop is already running (pid {running}); `shop down` stops it.")
        return 1
    if args.detach:
        return _detach(config, mesh=args.mesh, observability=args.observability)
    return _run(
        config,
        stream=not args.supervised,
        load_demo=not args.no_demo,
        mesh=args.mesh,
        observability=args.observability,
    )


def _services(config: PlatformConfig) -> list[str]:
    return [c.name for c in discover(config.repo_root) if not c.is_gateway]


def _run(
    config: PlatformConfig,
    *,
    stream: bool,
    load_demo: bool,
    mesh: bool = False,
    observability: bool = False,
) -> int:
    prepare_state_dir(config.state_dir, server_user())
    store = CredentialStore(config.state_dir)
    credentials, created = store.load_or_create()
    credentials = admin_from_env(credentials, os.environ)
    sidecars = Mesh.plan(config, _services(config)) if mesh else None
    viewer = None
    if observability:
        viewer = TraceViewer(config.cache_dir, config.run_dir, config.log_dir)
    base_env = {**os.environ, **(viewer.environment() if viewer else {})}
    platform = LocalPlatform(config, credentials, mesh=sidecars, base_env=base_env)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    config.log_dir.mkdir(parents=True, exist_ok=True)
    pid_file = config.run_dir / f"{SUPERVISOR}.pid"
    write_pid_file(pid_file, os.getpid())
    render = pretty_line if terminal(sys.stdout) else raw_line
    streamer = LogStreamer(config.log_dir, sys.stdout, render=render) if stream else None
    _on_signals(_raise_stop)
    began = time.monotonic()
    try:
        if streamer is not None:
            streamer.start()
        if viewer is not None:
            viewer.start()
        platform.start(load_demo=load_demo)
        elapsed = time.monotonic() - began
        _write(_endpoint_table(platform.endpoints()))
        if sidecars is not None:
            _write("\nA service through its sidecar, as the developer identity (STRICT mTLS):")
            _write(f"  {sidecars.grpcurl_command()}")
        _write(_traces_hint(viewer))
        if created and "SHOP_ADMIN_PASSWORD" not in os.environ:
            _write(f"\nLocal admin (shown once; kept in {store.path}):")
            _write(f"  email:    {credentials.admin_email}")
            _write(f"  password: {credentials.admin_password}")
        logger.info(
            "platform up in %.1fs (%s); Ctrl-C or `shop down` stops it",
            elapsed,
            _start_summary(platform),
        )
        (config.run_dir / READY_FILE).write_text(f"{elapsed:.1f}\n")
        # Never set: the signal handlers end supervision by raising _Stop.
        platform.supervise(threading.Event())
    except _Stop:
        logger.info("stopping")
    except Exception as error:
        logger.error("shop up failed: %s", error)
        return 1
    finally:
        _on_signals(signal.SIG_IGN)
        try:
            platform.stop()
            if viewer is not None:
                viewer.stop()
            _stop_leftovers(config)
        finally:
            if streamer is not None:
                streamer.stop()
            (config.run_dir / READY_FILE).unlink(missing_ok=True)
            pid_file.unlink(missing_ok=True)
    return 0


def _traces_hint(viewer: TraceViewer | None) -> str:
    if viewer is None:
        return "\nTraces: not collected; `shop up --observability` starts a local trace viewer."
    return (
        f"\nTraces: Jaeger at {viewer.url} (API: {viewer.url}/api/traces?service=gateway)."
        "\n  A request's trace id is on its gateway log line (trace=...);"
        " `shop trace TRACE_ID` prints its span tree."
    )


def _start_summary(platform: LocalPlatform) -> str:
    failed = ", ".join(sorted(platform.failed)) or "none"
    waits = [f"; {name} waiting on {', '.join(on)}" for name, on in platform.waiting_on.items()]
    return f"failed: {failed}{''.join(waits)}"


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _on_signals(handler: object) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)  # type: ignore[arg-type]


def _detach(config: PlatformConfig, *, mesh: bool = False, observability: bool = False) -> int:
    """Start a supervised `shop up` in its own session and follow its log until it is ready."""
    prepare_state_dir(config.state_dir, server_user())
    config.log_dir.mkdir(parents=True, exist_ok=True)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    (config.run_dir / READY_FILE).unlink(missing_ok=True)
    log_path = config.log_dir / f"{SUPERVISOR}.log"
    offset = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("ab") as log:
        child = subprocess.Popen(  # noqa: S603 - our own module
            [
                sys.executable,
                "-m",
                "launcher.cli",
                "up",
                "--supervised",
                *(["--mesh"] if mesh else []),
                *(["--observability"] if observability else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=config.repo_root,
            start_new_session=True,
        )
    while True:
        offset = _copy_new(log_path, offset)
        if (config.run_dir / READY_FILE).exists():
            _copy_new(log_path, offset)
            _write(f"\nrunning in the background (pid {child.pid}); logs: {config.log_dir}")
            return 0
        if child.poll() is not None:
            _copy_new(log_path, offset)
            _write(f"shop up failed (exit code {child.returncode}); see {log_path}")
            return 1
        time.sleep(0.3)


def _copy_new(path: Path, offset: int) -> int:
    with path.open("rb") as log:
        log.seek(offset)
        chunk = log.read()
    if chunk:
        sys.stdout.write(chunk.decode("utf-8", errors="replace"))
        sys.stdout.flush()
    return offset + len(chunk)


def _endpoint_table(endpoints: Sequence[Endpoint]) -> str:
    return _table(
        ("component", "kind", "address"), [(e.component, e.kind, e.address) for e in endpoints]
    )


# shop down ----------------------------------------------------------------------------------


def cmd_down(args: argparse.Namespace) -> int:
    config = _config()
    supervisor = _supervisor_pid(config)
    if supervisor is not None:
        logger.info("stopping shop (pid %d)", supervisor)
        os.kill(supervisor, signal.SIGTERM)
        deadline = time.monotonic() + 180
        while pid_alive(supervisor) and time.monotonic() < deadline:
            time.sleep(0.2)
    _stop_leftovers(config)
    if args.purge:
        _purge(config)
    return 0


def _stop_leftovers(config: PlatformConfig) -> None:
    """Stop whatever still has a pid file: components first, stores last."""
    if not config.run_dir.exists():
        return
    order = {name: i for i, name in enumerate(reversed(STORES))}
    pid_files = sorted(
        config.run_dir.glob("*.pid"), key=lambda p: (p.stem in order, order.get(p.stem, 0))
    )
    for pid_file in pid_files:
        if pid_file.stem == SUPERVISOR:
            continue
        pid = read_pid(pid_file)
        if pid is not None and pid_alive(pid):
            logger.info("stopping %s (pid %d)", pid_file.stem, pid)
            stop_sig = signal.SIGINT if pid_file.stem == "postgres" else signal.SIGTERM
            stop_group(pid, stop_sig, 30)
        pid_file.unlink(missing_ok=True)


def _purge(config: PlatformConfig) -> None:
    state = config.state_dir
    # Refuse to delete a directory that does not look like ours (a mistyped SHOP_STATE_DIR).
    if not (state / CREDENTIALS_FILE).exists() and not (state / "logs").exists():
        logger.info("nothing to purge in %s", state)
        return
    shutil.rmtree(state)
    shutil.rmtree(config.stores_dir, ignore_errors=True)
    logger.info("deleted %s (data, credentials and logs)", state)


# shop status / logs / mail / reindex -------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    config = _config()
    store = CredentialStore(config.state_dir)
    if not store.exists():
        _write(f"nothing provisioned yet in {config.state_dir}; `shop up` starts the platform")
        return 1
    credentials, _ = store.load_or_create()
    running_mesh = Mesh.running(config, _services(config)) if _supervisor_pid(config) else None
    platform = LocalPlatform(config, credentials, mesh=running_mesh)
    health = platform.health()
    memory = platform.memory_bytes()
    addresses: dict[str, str] = {}
    for endpoint in platform.endpoints():
        addresses.setdefault(endpoint.component, endpoint.address)
    names = [*STORES, *platform.component_names()]
    supervised = load_status(config.run_dir / STATE_FILE) if _supervisor_pid(config) else {}
    rows = [
        (
            name,
            _health_text(health[name], supervised.get(name)),
            addresses.get(name, ""),
            f"{memory[name] / 2**20:.0f} MiB" if name in memory else "-",
        )
        for name in names
    ]
    _write(_table(("component", "status", "address", "memory"), rows))
    _write(f"\ntotal resident memory: {sum(memory.values()) / 2**20:.0f} MiB")
    return 0 if all(health[name] for name in names) else 1


def _health_text(healthy: bool, supervised: ChildStatus | None) -> str:
    # Crashes are history once the component serves again; while it is down they explain why.
    if supervised is not None and (
        supervised.state == "restarting" or (not healthy and supervised.crashes)
    ):
        return supervised.describe()
    return "healthy" if healthy else "DOWN"


def cmd_logs(args: argparse.Namespace) -> int:
    config = _config()
    component = FORMER_STORE_NAMES.get(args.component, args.component)
    path = config.log_dir / f"{component}.log"
    if not path.exists():
        known = sorted(p.stem for p in config.log_dir.glob("*.log"))
        _write(f"no log for {component!r}; available: {', '.join(known) or 'none'}")
        return 1
    render = _log_form(args)
    lines = path.read_text(errors="replace").splitlines()
    for line in lines[-args.lines :] if args.lines else lines:
        shown = render(component, line)
        if shown is not None:
            _write(shown)
    if args.follow:
        try:
            LogStreamer(config.log_dir, sys.stdout, render=render, only=component).follow()
        except KeyboardInterrupt:
            return 0
    return 0


def _log_form(args: argparse.Namespace) -> Renderer:
    """Pretty on a terminal, the file's own lines (JSON for services) otherwise or with --json."""
    if args.json:
        return lambda _component, line: line
    if args.pretty or terminal(sys.stdout):
        return pretty_line
    return lambda _component, line: line


def cmd_trace(args: argparse.Namespace) -> int:
    try:
        spans = fetch_trace(args.url, args.trace_id)
    except OSError as error:
        _write(f"no trace viewer at {args.url} ({error}); start one with `shop up --observability`")
        return 1
    if not spans:
        _write(f"trace {args.trace_id} not found (yet: spans arrive within a few seconds)")
        return 1
    _write(render_tree(spans))
    return 0


def cmd_mail(args: argparse.Namespace) -> int:
    config = _config()
    box = Mailbox(config.state_dir / "mail")
    messages = box.messages()
    rows = [
        (str(m.get("Date", "")), str(m.get("To", "")), str(m.get("Subject", ""))) for m in messages
    ]
    if rows:
        _write(_table(("date", "to", "subject"), rows))
    _write(f"{len(messages)} message(s) in {box.path}")
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    config = _config()
    credentials, _ = CredentialStore(config.state_dir).load_or_create()
    platform = LocalPlatform(config, credentials)
    if "search" not in {c.name for c in platform.components}:
        _write("the search service does not exist yet; nothing to reindex")
        return 1
    return 0 if run_reindex(config.repo_root, platform.environments()["search"]) else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="shop", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start stores, services and gateway (Ctrl-C stops)")
    up.add_argument("--detach", action="store_true", help="run in the background")
    up.add_argument("--no-demo", action="store_true", help="do not load the demo catalog")
    up.add_argument(
        "--mesh",
        action="store_true",
        help="put every service and the gateway behind an Envoy sidecar (STRICT mTLS, RBAC)",
    )
    up.add_argument(
        "--observability",
        action="store_true",
        help="also start a local trace viewer (Jaeger) that every component exports to",
    )
    up.add_argument("--supervised", action="store_true", help=argparse.SUPPRESS)
    up.set_defaults(handler=cmd_up)
    down = commands.add_parser("down", help="stop everything `shop up` started")
    down.add_argument("--purge", action="store_true", help="also delete data and credentials")
    down.set_defaults(handler=cmd_down)
    commands.add_parser("status", help="health table; exit 0 only if all healthy").set_defaults(
        handler=cmd_status
    )
    logs = commands.add_parser("logs", help="show a component's log")
    logs.add_argument("component", help=f"a store, a service, {GATEWAY} or {SUPERVISOR}")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-n", "--lines", type=int, default=200)
    form = logs.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="the file's lines as written")
    form.add_argument("--pretty", action="store_true", help="one readable line per event")
    logs.set_defaults(handler=cmd_logs)
    commands.add_parser("mail", help="list captured mail").set_defaults(handler=cmd_mail)
    trace = commands.add_parser("trace", help="print a trace's span tree (shop up --observability)")
    trace.add_argument("trace_id")
    trace.add_argument("--url", default=TraceViewer.default_url(), help="the trace viewer")
    trace.set_defaults(handler=cmd_trace)
    commands.add_parser("reindex", help="rebuild the search index").set_defaults(
        handler=cmd_reindex
    )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(SupervisorFormatter(pretty=terminal(sys.stdout)))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # The launcher's own Kafka clients (topics, ACLs) would log every SASL login at INFO.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
