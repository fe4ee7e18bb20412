"""Test-only contracts for the conformance suite, compiled from protos/ at session start."""

from __future__ import annotations

from types import ModuleType

import pytest

from .gwsupport import load_conformance


@pytest.fixture(scope="session")
def conformance_pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    module: ModuleType = load_conformance(tmp_path_factory.mktemp("gwtest_gen"))
    return module
