"""Test-only contracts for the conformance suite, compiled from protos/ at session start."""

from __future__ import annotations

from types import ModuleType

import pytest

# Helper modules beside the tests are on sys.path for pytest, not for mypy's package bases.
from gwsupport import load_conformance  # type: ignore[import-not-found]


@pytest.fixture(scope="session")
def conformance_pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    module: ModuleType = load_conformance(tmp_path_factory.mktemp("gwtest_gen"))
    return module
