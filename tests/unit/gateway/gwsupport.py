"""Helpers shared by the gateway's unit and integration tests (loaded by their conftests)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc_tools
from google.api import annotations_pb2
from grpc_tools import protoc

HERE = Path(__file__).parent
REPO = HERE.parents[2]


def _imports_descriptor_set(out_dir: Path) -> Path:
    """buf/validate and what it imports, as a descriptor set taken from the generated code
    (the .proto source is fetched by the contracts' generator, not shipped by a package)."""
    from buf.validate import validate_pb2
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet()
    seen: set[str] = set()

    def add(file: Any) -> None:
        if file.name in seen:
            return
        seen.add(file.name)
        for dependency in file.dependencies:
            add(dependency)
        proto = files.file.add()
        file.CopyToProto(proto)

    add(validate_pb2.DESCRIPTOR)
    target = out_dir / "imports.binpb"
    target.write_bytes(files.SerializeToString())
    return target


def compile_protos(out_dir: Path, proto_root: Path, files: list[str]) -> None:
    includes = [
        proto_root,
        REPO / "proto",
        Path(annotations_pb2.__file__).parents[2],
        Path(grpc_tools.__file__).parent / "_proto",
    ]
    args = [
        "protoc",
        f"--descriptor_set_in={_imports_descriptor_set(out_dir)}",
        *(f"-I{p}" for p in includes),
        f"--python_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed for {files}")


def _ensure_api_annotations(out_dir: Path) -> None:
    # The shopmesh method options come from the contracts' annotations.proto; when gen/ has
    # not been generated, compile that one file here.
    try:
        importlib.import_module("shop.api.v1.annotations_pb2")
    except ModuleNotFoundError:
        compile_protos(out_dir, REPO / "proto", ["shop/api/v1/annotations.proto"])
        shop = importlib.import_module("shop")
        shop.__path__.append(str(out_dir / "shop"))


def load_conformance(out_dir: Path) -> ModuleType:
    """Compile the test-only contract once per process and import it."""
    if "gwtest.v1.conformance_pb2" in sys.modules:
        return sys.modules["gwtest.v1.conformance_pb2"]
    _ensure_api_annotations(out_dir)
    compile_protos(
        out_dir, HERE / "protos", ["gwtest/v1/conformance.proto", "gwtest/v1/validated.proto"]
    )
    sys.path.insert(0, str(out_dir))
    return importlib.import_module("gwtest.v1.conformance_pb2")
