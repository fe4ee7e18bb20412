"""Regenerate gen/ from proto/ (`make gen`), or check that gen/ is up to date (`--check`).

The third-party protos the contracts import are committed, pinned, in third_party/proto/ (see
its README): buf lint/format/breaking/generate work on a fresh clone with nothing fetched.
`--update-third-party` refreshes that copy from its sources (google/api from the installed
googleapis-common-protos package, buf/validate from the protovalidate Go module, pinned below)
and rewrites its checksums. Generation runs `buf generate` with local plugins only.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as `python tools/gen_proto.py`: make this checkout's root win over any other on sys.path.
sys.path.insert(0, str(ROOT))

from tools.proto_comments import COMMENTS_FILE_NAME, write_comments  # noqa: E402

THIRD_PARTY_DIR = ROOT / "third_party" / "proto"
CHECKSUMS_FILE = THIRD_PARTY_DIR / "SHA256SUMS"
GEN_DIR_NAME = "gen"
PROTOVALIDATE_MODULE = "github.com/bufbuild/protovalidate"
PROTOVALIDATE_VERSION = "v1.2.2"
PROTOVALIDATE_PROTO = "proto/protovalidate/buf/validate/validate.proto"
GOOGLEAPIS_PACKAGE = "googleapis-common-protos"
GOOGLEAPIS_VERSION = "1.76.0"
GOOGLE_API_PROTOS = ("google/api/annotations.proto", "google/api/http.proto")
VALIDATE_PROTO = "buf/validate/validate.proto"
# Generated trees that are Python packages; every directory below them gets an __init__.py.
GENERATED_PACKAGES = ("shop", "buf")
PACKAGE_DOCSTRING = (
    '"""Generated protobuf and gRPC code for the shopmesh contracts (produced by `make gen`)."""\n'
)

ASYNC_ALIAS_HEADER = (
    "# Added by tools/gen_proto.py: the grpc.aio stub type of the .pyi, at run time.\n"
)

log = logging.getLogger("gen_proto")


class GenerationError(RuntimeError):
    """A step of the generation failed; the message says what to fix."""


def venv_bin() -> Path:
    """Directory of the running interpreter: the virtualenv with buf and the plugins."""
    return Path(sys.executable).parent


def tool_env() -> dict[str, str]:
    """Environment in which `python`, `buf` and the protoc plugins are the virtualenv's."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(venv_bin()), env.get("PATH", "")])
    return env


def buf_executable() -> str:
    candidate = venv_bin() / "buf"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("buf")
    if found is None:
        raise GenerationError("buf not found: run `make install` (it installs buf-bin)")
    return found


def _protovalidate_source() -> Path:
    """Path of validate.proto in the Go module cache, downloading the pinned module if needed."""
    go = shutil.which("go")
    if go is None:
        raise GenerationError(
            "Go is needed to fetch buf/validate/validate.proto from the Go module "
            f"{PROTOVALIDATE_MODULE}@{PROTOVALIDATE_VERSION}: install Go 1.21+"
        )
    module = f"{PROTOVALIDATE_MODULE}@{PROTOVALIDATE_VERSION}"
    env = dict(os.environ, GOFLAGS="-mod=mod", GO111MODULE="on")
    result = subprocess.run(
        [go, "mod", "download", "-json", module],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
        check=False,
    )
    if result.returncode != 0:
        raise GenerationError(f"go mod download {module} failed:\n{result.stdout}{result.stderr}")
    module_dir = Path(json.loads(result.stdout)["Dir"])
    return module_dir / PROTOVALIDATE_PROTO


def _google_api_root() -> Path:
    """Import root holding google/api/*.proto, shipped by googleapis-common-protos."""
    installed = importlib.metadata.version(GOOGLEAPIS_PACKAGE)
    if installed != GOOGLEAPIS_VERSION:
        raise GenerationError(
            f"{GOOGLEAPIS_PACKAGE} {installed} is installed but the copy is pinned to "
            f"{GOOGLEAPIS_VERSION}: change GOOGLEAPIS_VERSION in tools/gen_proto.py on purpose"
        )
    spec = importlib.util.find_spec("google.api.http_pb2")
    if spec is None or spec.origin is None:
        raise GenerationError(f"{GOOGLEAPIS_PACKAGE} is not installed: run `make install`")
    return Path(spec.origin).resolve().parent.parent.parent


def third_party_files() -> tuple[str, ...]:
    """The committed third-party protos, relative to THIRD_PARTY_DIR."""
    return (*GOOGLE_API_PROTOS, VALIDATE_PROTO)


def checksums(directory: Path = THIRD_PARTY_DIR) -> str:
    """`sha256sum`-style lines for the third-party protos under `directory`."""
    lines = [
        f"{hashlib.sha256((directory / name).read_bytes()).hexdigest()}  {name}\n"
        for name in third_party_files()
    ]
    return "".join(lines)


def update_third_party(target: Path = THIRD_PARTY_DIR) -> Path:
    """Refresh the committed copy from its pinned sources and rewrite its checksums."""
    google_root = _google_api_root()
    sources = {name: google_root / name for name in GOOGLE_API_PROTOS}
    sources[VALIDATE_PROTO] = _protovalidate_source()
    for name, source in sources.items():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(source.read_bytes())
    (target / CHECKSUMS_FILE.name).write_text(checksums(target))
    return target


def _add_package_markers(gen_dir: Path) -> None:
    for top in GENERATED_PACKAGES:
        top_dir = gen_dir / top
        if not top_dir.is_dir():
            continue
        for directory in [top_dir, *sorted(p for p in top_dir.rglob("*") if p.is_dir())]:
            if directory.name == "__pycache__":
                continue
            marker = directory / "__init__.py"
            if not marker.exists():
                marker.write_text(PACKAGE_DOCSTRING)


def _add_async_stub_aliases(gen_dir: Path) -> None:
    """Make `<Service>AsyncStub` importable at run time, not only in the .pyi stubs.

    mypy-protobuf types a stub built on a grpc.aio channel as `<Service>AsyncStub`, a name
    that grpcio's generated module lacks; the alias lets service code annotate injected
    clients with it without `if TYPE_CHECKING` blocks.
    """
    for module in sorted(gen_dir.rglob("*_pb2_grpc.py")):
        source = module.read_text()
        stubs = re.findall(r"^class (\w+)Stub\b", source, flags=re.MULTILINE)
        if not stubs:
            continue
        aliases = "".join(f"{name}AsyncStub = {name}Stub\n" for name in stubs)
        module.write_text(f"{source}\n\n{ASYNC_ALIAS_HEADER}{aliases}")


def generate(output_root: Path = ROOT) -> Path:
    """Run `buf generate` so that the code lands in `output_root`/gen; return that directory."""
    cmd = [buf_executable(), "generate", "--template", "buf.gen.yaml"]
    if output_root != ROOT:
        cmd += ["--output", str(output_root)]
    result = subprocess.run(
        cmd, cwd=ROOT, env=tool_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise GenerationError(f"buf generate failed:\n{result.stdout}{result.stderr}")
    gen_dir = output_root / GEN_DIR_NAME
    _add_package_markers(gen_dir)
    _add_async_stub_aliases(gen_dir)
    try:
        write_comments(buf_executable(), ROOT, gen_dir / "shop" / COMMENTS_FILE_NAME, tool_env())
    except subprocess.CalledProcessError as exc:
        raise GenerationError(f"buf build failed:\n{exc.stdout!r}{exc.stderr!r}") from exc
    return gen_dir


def _relative_files(directory: Path) -> set[Path]:
    return {
        p.relative_to(directory)
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def drift(expected: Path, actual: Path) -> list[str]:
    """Differences between a fresh generation (`expected`) and the committed gen/ (`actual`)."""
    want, have = _relative_files(expected), _relative_files(actual)
    problems = [f"missing: {p}" for p in sorted(want - have)]
    problems += [f"not generated (stale): {p}" for p in sorted(have - want)]
    problems += [
        f"differs: {p}"
        for p in sorted(want & have)
        if not filecmp.cmp(expected / p, actual / p, shallow=False)
    ]
    return problems


def check() -> list[str]:
    """Generate into a temporary directory and compare with the committed gen/."""
    with tempfile.TemporaryDirectory(prefix="shopmesh-gen-") as tmp:
        fresh = generate(Path(tmp))
        return drift(fresh, ROOT / GEN_DIR_NAME)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="fail when gen/ differs from a fresh generation"
    )
    parser.add_argument(
        "--update-third-party",
        action="store_true",
        help="refresh third_party/proto from its pinned sources (needs Go), then stop",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.update_third_party:
            log.info("third-party protos refreshed in %s", update_third_party().relative_to(ROOT))
            return 0
        if args.check:
            problems = check()
            for problem in problems:
                log.error("%s", problem)
            if problems:
                log.error("gen/ is out of date: run `make gen` and commit the result")
                return 1
            log.info("gen/ is up to date")
            return 0
        generate()
    except GenerationError as exc:
        log.error("%s", exc)
        return 1
    log.info("generated %s/ from proto/", GEN_DIR_NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
