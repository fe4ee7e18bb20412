"""The contracts build, gen/ is what `make gen` produces, and every generated module imports."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from mesh.roster import ROSTER
from tools import contracts, gen_proto

ROOT = Path(__file__).resolve().parents[3]
MODULES = contracts.generated_module_names()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    )
    return subprocess.run(
        list(args), cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300
    )


def test_gen_matches_a_fresh_generation() -> None:
    result = _run(sys.executable, "tools/gen_proto.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_third_party_protos_are_the_pinned_copy() -> None:
    recorded = gen_proto.CHECKSUMS_FILE.read_text()
    assert recorded == gen_proto.checksums(), (
        "third_party/proto differs from SHA256SUMS: refresh it with "
        "`tools/gen_proto.py --update-third-party` instead of editing it"
    )


def test_descriptor_set_builds_with_the_nine_services(tmp_path: Path) -> None:
    # Straight from the committed files: no generation or download step before buf.
    image = tmp_path / "shop.binpb"
    built = _run("buf", "build", "-o", str(image))
    assert built.returncode == 0, built.stderr
    files = descriptor_pb2.FileDescriptorSet.FromString(image.read_bytes()).file
    built_services = {f"{f.package}.{s.name}" for f in files for s in f.service}
    expected = {service.full_name for service in contracts.services()}
    assert len(expected) == 9
    assert built_services == expected


@pytest.mark.parametrize("module", MODULES)
def test_generated_module_imports(module: str) -> None:
    importlib.import_module(module)


def test_every_service_package_is_generated() -> None:
    for package in contracts.SERVICE_PACKAGES:
        assert f"shop.{package}.v1.{package}_pb2" in MODULES
        assert f"shop.{package}.v1.{package}_pb2_grpc" in MODULES


def test_the_roster_names_the_services_the_contracts_define() -> None:
    # mesh.roster is what the runtime, the launcher and these tests read; its gRPC names must
    # be the ones proto/shop/<name>/v1 defines, package by package.
    defined = {
        package: [
            s.full_name
            for s in contracts.service_module(package).DESCRIPTOR.services_by_name.values()
        ]
        for package in contracts.SERVICE_PACKAGES
    }
    assert defined == {entry.name: [entry.grpc_service] for entry in ROSTER}
