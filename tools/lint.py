"""`make lint`: buf lint, buf format, buf breaking against main, ruff, mypy --strict, and the
layer contracts (import-linter, `.importlinter`).

Every check runs even when an earlier one fails, so one run shows everything to fix; the exit
status is non-zero when any check failed.

`buf breaking` compares the working tree with the `main` branch (override with the git ref in
BUF_BREAKING_AGAINST). The ref's buf.yaml, proto/ and third_party/proto/ are exported to a
temporary directory that buf compares against. A ref from before the third-party protos were
committed (its buf.yaml names the git-ignored build/proto-deps/) gets today's pinned copy and
module path. When the ref has no contracts yet (the first commit adding them), there is nothing
to break and the check says so. When no such ref exists, the check fails in CI (CI set) and is
reported as skipped on a developer machine.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Run as `python tools/lint.py`: make this checkout's root win over any other on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.gen_proto import (  # noqa: E402
    ROOT,
    THIRD_PARTY_DIR,
    GenerationError,
    tool_env,
)

PROTO_DIR = "proto"
BUF_CONFIG = "buf.yaml"
THIRD_PARTY = THIRD_PARTY_DIR.relative_to(ROOT).as_posix()
# Where refs from before the committed copy expected the third-party protos (git-ignored there).
LEGACY_DEPS_DIR = "build/proto-deps"
DEFAULT_AGAINST_REFS = ("main", "origin/main")

log = logging.getLogger("lint")


@dataclass(frozen=True)
class Outcome:
    """Result of one check: `ok` False fails the run; `note` explains a pass without work."""

    ok: bool
    note: str = ""


def run(cmd: Sequence[str], *, cwd: Path = ROOT) -> Outcome:
    """Run a command with its output streamed to ours; ok when it exits 0."""
    log.info("$ %s", " ".join(cmd))
    result = subprocess.run(list(cmd), cwd=cwd, env=tool_env(), check=False)
    return Outcome(result.returncode == 0)


def git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=False)


def buf() -> str:
    found = shutil.which("buf", path=tool_env()["PATH"])
    if found is None:
        raise GenerationError("buf not found: run `make install` (it installs buf-bin)")
    return found


def buf_lint() -> Outcome:
    return run([buf(), "lint"])


def buf_format() -> Outcome:
    # The whole workspace, as a developer would run it: the third-party copy is in buf's style.
    return run([buf(), "format", "-d", "--exit-code"])


def resolve_against_ref() -> str | None:
    override = os.environ.get("BUF_BREAKING_AGAINST")
    candidates = (override,) if override else DEFAULT_AGAINST_REFS
    for ref in candidates:
        if git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0:
            return ref
    return None


def ref_has_contracts(ref: str) -> bool:
    listing = git("ls-tree", "-r", "--name-only", ref, "--", PROTO_DIR, BUF_CONFIG)
    names = listing.stdout.decode().split()
    return BUF_CONFIG in names and any(name.endswith(".proto") for name in names)


def ref_has_third_party(ref: str) -> bool:
    listing = git("ls-tree", "--name-only", ref, "--", THIRD_PARTY)
    return bool(listing.stdout.strip())


def export_ref(ref: str, target: Path) -> None:
    """Write the ref's buf workspace into `target`, with the third-party protos it imports."""
    has_third_party = ref_has_third_party(ref)
    paths = [BUF_CONFIG, PROTO_DIR, *([THIRD_PARTY] if has_third_party else [])]
    archive = git("archive", "--format=tar", ref, *paths)
    if archive.returncode != 0:
        raise GenerationError(f"git archive {ref} failed: {archive.stderr.decode()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    if not has_third_party:
        # The ref predates the committed copy: its buf.yaml expects the same pinned files in
        # the git-ignored build/proto-deps/. Both sides must list the same module paths, or
        # buf pairs nothing and reports no breakage at all, so the ref gets today's layout.
        shutil.copytree(THIRD_PARTY_DIR, target / THIRD_PARTY)
        config = target / BUF_CONFIG
        config.write_text(config.read_text().replace(LEGACY_DEPS_DIR, THIRD_PARTY))


def buf_breaking() -> Outcome:
    ref = resolve_against_ref()
    if ref is None:
        wanted = os.environ.get("BUF_BREAKING_AGAINST") or " or ".join(DEFAULT_AGAINST_REFS)
        message = f"no git ref {wanted} to compare the contracts with"
        if os.environ.get("CI"):
            log.error("%s: fetch it (git fetch origin main:main) so CI can check it", message)
            return Outcome(False)
        return Outcome(True, f"SKIPPED: {message} (this fails in CI)")
    if not ref_has_contracts(ref):
        return Outcome(True, f"{ref} has no contracts yet: nothing to break")
    with tempfile.TemporaryDirectory(prefix="shopmesh-breaking-") as tmp:
        against_dir = Path(tmp) / "against"
        export_ref(ref, against_dir)
        # A directory input (not a built image), so that both sides are the same workspace
        # of two modules and buf pairs them up.
        outcome = run([buf(), "breaking", "--against", str(against_dir)])
    return Outcome(outcome.ok, f"against {ref}")


PACKAGE_PATHS = ("mesh", "services", "gateway", "launcher", "tools")
TESTS_DIR = "tests"
IMPORT_CONTRACTS = ".importlinter"


def existing(paths: Sequence[str]) -> list[str]:
    return [path for path in paths if (ROOT / path).exists()]


def ruff() -> Outcome:
    # gen/ is excluded by pyproject's extend-exclude.
    return run([sys.executable, "-m", "ruff", "check", "."])


def test_directories() -> list[Path]:
    """Every folder under tests/ holding Python files, as pytest imports them."""
    tests = ROOT / TESTS_DIR
    if not tests.is_dir():
        return []
    folders = {p.parent for p in tests.rglob("*.py") if "__pycache__" not in p.parts}
    return sorted(folders)


def mypy_tests(folder: Path) -> Outcome:
    """mypy on one test folder, with the folder on the module path.

    pytest (prepend import mode) puts each test folder on sys.path, so tests import helper
    modules by basename and several folders have a conftest.py: one mypy run per folder
    resolves those imports the same way and never sees two modules with one name.
    """
    files = sorted(str(p.relative_to(ROOT)) for p in folder.glob("*.py"))
    log.info("$ MYPYPATH=%s mypy --strict %s", folder.relative_to(ROOT), " ".join(files))
    env = tool_env()
    env["MYPYPATH"] = os.pathsep.join([str(folder), str(ROOT / "gen")])
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *files], cwd=ROOT, env=env, check=False
    )
    return Outcome(result.returncode == 0)


def mypy() -> Outcome:
    outcomes = [run([sys.executable, "-m", "mypy", "--strict", *existing(PACKAGE_PATHS)])]
    outcomes += [mypy_tests(folder) for folder in test_directories()]
    failed = sum(not outcome.ok for outcome in outcomes)
    return Outcome(failed == 0, f"{failed} of {len(outcomes)} runs failed" if failed else "")


def layer_contracts() -> Outcome:
    """import-linter: the layer rules in .importlinter (services independent, mesh and the
    gateway import no service, each service's domain pure and its layers pointing inward)."""
    lint_imports = shutil.which("lint-imports", path=tool_env()["PATH"])
    if lint_imports is None:
        raise GenerationError("lint-imports not found: run `make install` (import-linter)")
    return run([lint_imports, "--no-cache", IMPORT_CONTRACTS])


CHECKS: tuple[tuple[str, Callable[[], Outcome]], ...] = (
    ("buf lint", buf_lint),
    ("buf format", buf_format),
    ("buf breaking", buf_breaking),
    ("ruff", ruff),
    ("mypy --strict", mypy),
    ("layer contracts", layer_contracts),
)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results: list[tuple[str, Outcome]] = []
    for name, check in CHECKS:
        log.info("== %s", name)
        try:
            outcome = check()
        except GenerationError as exc:
            log.error("%s", exc)
            outcome = Outcome(False)
        results.append((name, outcome))
    log.info("== summary")
    for name, outcome in results:
        status = "ok" if outcome.ok else "FAILED"
        log.info("%-14s %s%s", name, status, f" ({outcome.note})" if outcome.note else "")
    return 0 if all(outcome.ok for _, outcome in results) else 1


if __name__ == "__main__":
    sys.exit(main())
