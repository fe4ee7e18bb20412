"""Helpers shared by the gateway's unit and integration tests (loaded by their conftests)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import grpc_tools
from google.api import annotations_pb2
from grpc_tools import protoc

HERE = Path(__file__).parent
REPO = HERE.parents[2]


def compile_protos(out_dir: Path, proto_root: Path, files: list[str]) -> None:
    includes = [
        proto_root,
        REPO / "proto",
        Path(annotations_pb2.__file__).parents[2],
        Path(grpc_tools.__file__).parent / "_proto",
    ]
    args = ["protoc", *(f"-I{p}" for p in includes), f"--python_out={out_dir}", *files]
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
    compile_protos(out_dir, HERE / "protos", ["gwtest/v1/conformance.proto"])
    sys.path.insert(0, str(out_dir))
    return importlib.import_module("gwtest.v1.conformance_pb2")
