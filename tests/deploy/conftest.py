"""Fixtures of the deployment tests: cached tools, rendered kustomizations, schema validation.

No cluster is needed. Tools are fetched on first use (see deploy_tools.py); under CI=true a
tool that cannot be fetched fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
import yaml

from launcher.sidecars.renderer import load_render_package

from .deploy_schemas import Validator, load_crd_schemas
from .deploy_tools import KUSTOMIZATIONS, KUSTOMIZE, ROOT, Toolbox, ToolUnavailable

T = TypeVar("T")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def toolbox(pytestconfig: pytest.Config) -> Toolbox:
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    terminal = pytestconfig.pluginmanager.get_plugin("terminalreporter")

    def report(message: str) -> None:
        # Downloads take a while on a fresh machine: say so even while output is captured.
        if capture is None or terminal is None:
            return
        with capture.global_and_fixture_disabled():
            terminal.write_line(f"[deploy tools] {message}")

    return Toolbox(report)


@pytest.fixture(scope="session")
def obtain() -> Callable[[Callable[[], T]], T]:
    def run(fetch: Callable[[], T]) -> T:
        try:
            return fetch()
        except ToolUnavailable as error:
            if _in_ci():
                pytest.fail(f"tool unavailable in CI: {error}")
            pytest.skip(f"tool unavailable: {error}")

    return run


@pytest.fixture(scope="session")
def kustomize(toolbox: Toolbox, obtain: Callable[[Callable[[], Path]], Path]) -> Path:
    return obtain(lambda: toolbox.go_binary(KUSTOMIZE))


@pytest.fixture(scope="session")
def builds(kustomize: Path) -> dict[str, list[dict[str, Any]]]:
    """`kustomize build` of every kustomization, parsed."""
    rendered: dict[str, list[dict[str, Any]]] = {}
    for name, path in KUSTOMIZATIONS.items():
        done = subprocess.run(
            [str(kustomize), "build", str(path)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"kustomize build {path.relative_to(ROOT)}:\n{done.stderr}"
        rendered[name] = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    return rendered


@pytest.fixture(scope="session")
def validator(
    toolbox: Toolbox, obtain: Callable[[Callable[[], list[Path]]], list[Path]]
) -> Validator:
    return Validator(load_crd_schemas(obtain(toolbox.crd_files)))


@pytest.fixture(scope="session")
def render_module() -> ModuleType:
    """The deploy/mesh/render package, loaded as the local mesh loads it (under pytest the name
    `deploy` is this test package)."""
    return load_render_package(ROOT)
