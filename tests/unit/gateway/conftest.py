"""Test-only contracts for the conformance suite, compiled from protos/ at session start."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def _support() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gateway_test_support", Path(__file__).with_name("gwsupport.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def conformance_pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return _support().load_conformance(tmp_path_factory.mktemp("gwtest_gen"))
