"""Fetching and building third-party servers into the cache: Maven artifacts and a Go binary."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from launcher.stores.base import Progress

COMPLETE_MARKER: Final = ".complete"
# How often a long first-time build or download reports that it is still going.
PROGRESS_INTERVAL_SECONDS: Final = 10.0


class ToolchainMissing(RuntimeError):
    """A build tool the platform needs is not installed; the message says what to install."""


@contextmanager
def cache_lock(target: Path) -> Iterator[None]:
    """Serialise provisioning of one cache entry between processes (test runs, `shop up`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Where the official installers put toolchains that are not always on PATH.
_WELL_KNOWN_BIN_DIRS = ("/usr/local/go/bin",)


def require_tool(binary: str, install_hint: str) -> str:
    path = shutil.which(binary) or next(
        (str(Path(d) / binary) for d in _WELL_KNOWN_BIN_DIRS if (Path(d) / binary).exists()),
        None,
    )
    if path is None:
        raise ToolchainMissing(f"`{binary}` was not found on PATH: {install_hint}")
    return path


def java_home() -> Path:
    """The JDK that `java` on PATH belongs to (JAVA_HOME wins when set)."""
    configured = os.environ.get("JAVA_HOME")
    if configured and (Path(configured) / "bin" / "java").exists():
        return Path(configured)
    java = require_tool("java", "install a JDK 17+ (apt-get install openjdk-17-jdk-headless)")
    return Path(os.path.realpath(java)).parent.parent


@dataclass(frozen=True)
class MavenArtifact:
    group: str
    artifact: str
    version: str
    type: str = "jar"

    def xml(self) -> str:
        return (
            f"<dependency><groupId>{self.group}</groupId><artifactId>{self.artifact}</artifactId>"
            f"<version>{self.version}</version><type>{self.type}</type></dependency>"
        )


def fetch_maven(
    target: Path, artifacts: Sequence[MavenArtifact], progress: Progress, what: str
) -> Path:
    """Resolve artifacts and their runtime dependencies into `target`/lib (once; cached)."""
    with cache_lock(target):
        return _fetch_maven(target, artifacts, progress, what)


def _fetch_maven(
    target: Path, artifacts: Sequence[MavenArtifact], progress: Progress, what: str
) -> Path:
    lib = target / "lib"
    if (target / COMPLETE_MARKER).exists():
        return lib
    mvn = require_tool("mvn", "install Apache Maven and a JDK 17+ (e.g. apt-get install maven)")
    java_home()
    target.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(lib, ignore_errors=True)
    # A throw-away pom whose only job is to name what to download.
    (target / "pom.xml").write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>local.shopmesh</groupId><artifactId>fetch</artifactId><version>1</version>"
        "<packaging>pom</packaging><dependencies>"
        + "".join(a.xml() for a in artifacts)
        + "</dependencies></project>\n"
    )
    progress(f"{what}: downloading from Maven Central (first start only)")
    _stream(
        [
            mvn,
            "-B",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
            "-DincludeScope=runtime",
        ],
        cwd=target,
        progress=progress,
        prefix=f"{what}: mvn ",
    )
    (target / COMPLETE_MARKER).touch()
    return lib


def build_go(
    source: Path, target_root: Path, binary: str, progress: Progress, package: str = "."
) -> Path:
    """`go build` `package` of the module in `source` into the cache, keyed by the hash of
    the module's files (once; cached)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in source.iterdir() if p.suffix in {".go", ".mod", ".sum"}):
        digest.update(path.name.encode() + path.read_bytes())
    output = target_root / digest.hexdigest()[:16] / binary
    if output.exists():
        return output
    with cache_lock(output.parent):
        if not output.exists():
            _build_go(source, output, binary, progress, package)
    return output


def _build_go(source: Path, output: Path, binary: str, progress: Progress, package: str) -> None:
    go = require_tool("go", "install Go 1.24 or newer (https://go.dev/doc/install)")
    output.parent.mkdir(parents=True, exist_ok=True)
    progress(f"{binary}: building with go (first start only; takes a few minutes)")
    partial = output.with_suffix(".partial")
    _stream(
        [go, "build", "-trimpath", "-o", str(partial), package],
        cwd=source,
        progress=progress,
        prefix=f"{binary}: go ",
        env={**os.environ, "GOFLAGS": "-mod=readonly"},
    )
    partial.rename(output)


def _stream(
    argv: list[str],
    *,
    cwd: Path,
    progress: Progress,
    prefix: str,
    env: dict[str, str] | None = None,
) -> None:
    """Run a build command, reporting a progress line now and then instead of its output.

    Go's and Maven's own lines (hundreds of downloads) are kept only to explain a failure;
    the report is timed, so a build that compiles silently for minutes still shows it lives.
    """
    tail: list[str] = []
    started = time.monotonic()
    downloads = [0]
    done = threading.Event()

    def report() -> None:
        while not done.wait(PROGRESS_INTERVAL_SECONDS):
            elapsed = time.monotonic() - started
            progress(f"{prefix}working: {downloads[0]} downloads, {elapsed:.0f}s so far")

    reporter = threading.Thread(target=report, name="build-progress", daemon=True)
    reporter.start()
    try:
        # The context manager closes the pipe: a leaked pipe is a ResourceWarning in tests.
        with subprocess.Popen(  # noqa: S603 - argv built by us
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                line = line.rstrip()
                if line:
                    tail = [*tail[-40:], line]
                    downloads[0] += "download" in line.lower()
            returncode = process.wait()
    finally:
        done.set()
        reporter.join()
    if returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} failed in {cwd}:\n" + "\n".join(tail))
    progress(f"{prefix}done: {downloads[0]} downloads in {time.monotonic() - started:.0f}s")
